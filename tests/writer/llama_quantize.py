#!/usr/bin/env python3
"""Quantizes a GGUF file with llama.cpp's own llama_model_quantize (llama-quantize's
engine), from the libllama that node-llama-cpp ships, so tests can compare archscope's
writer with the files llama.cpp makes.

  ARCHSCOPE_NODE_LLAMA_CPP=/opt/ref/node_modules \\
    python3 tests/writer/llama_quantize.py in-f32.gguf out.gguf 15 [--pure]

15 is the LLAMA_FTYPE number (15 = MOSTLY_Q4_K_M). Exits 0 and prints "ok" on success.
"""
import ctypes
import os
import sys


class QuantizeParams(ctypes.Structure):
    # llama_model_quantize_params (include/llama.h of node-llama-cpp 3.21.1's llama.cpp)
    _fields_ = [
        ("nthread", ctypes.c_int32),
        ("ftype", ctypes.c_int),
        ("output_tensor_type", ctypes.c_int),
        ("token_embedding_type", ctypes.c_int),
        ("allow_requantize", ctypes.c_bool),
        ("quantize_output_tensor", ctypes.c_bool),
        ("only_copy", ctypes.c_bool),
        ("pure", ctypes.c_bool),
        ("keep_split", ctypes.c_bool),
        ("dry_run", ctypes.c_bool),
        ("imatrix", ctypes.c_void_p),
        ("kv_overrides", ctypes.c_void_p),
        ("tt_overrides", ctypes.c_void_p),
        ("prune_layers", ctypes.c_void_p),
        ("max_buf_size", ctypes.c_size_t),
    ]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 3:
        sys.exit(__doc__)
    modules = os.environ.get("ARCHSCOPE_NODE_LLAMA_CPP")
    if not modules:
        sys.exit("set ARCHSCOPE_NODE_LLAMA_CPP to a node_modules folder with node-llama-cpp")
    bins = os.path.join(modules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64")
    names = [n for n in os.listdir(bins) if n.startswith("libllama.") and n.endswith(".so")]
    if not names:
        sys.exit("no libllama in " + bins)
    llama = ctypes.CDLL(os.path.join(bins, names[0]))
    llama.llama_model_quantize_default_params.restype = QuantizeParams
    llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(QuantizeParams)]
    llama.llama_model_quantize.restype = ctypes.c_uint32

    params = llama.llama_model_quantize_default_params()
    params.ftype = int(args[2])
    params.nthread = 1
    params.pure = "--pure" in sys.argv
    status = llama.llama_model_quantize(args[0].encode(), args[1].encode(), ctypes.byref(params))
    if status != 0:
        sys.exit("llama_model_quantize failed (%d)" % status)
    print("ok")


if __name__ == "__main__":
    main()
