// Dev tool: llama.cpp's prefill and decode speed on a GGUF file, measured the way
// `archscope-cli bench` measures archscope (same prompt length, same number of decoded
// tokens, greedy, median of repeats), so the two can be run side by side.
//
//   ARCHSCOPE_NODE_LLAMA_CPP=/opt/ref/node_modules GGML_VK_VISIBLE_DEVICES=0 \
//     node tests/benchmarks/llama_cpp_bench.mjs model.gguf [--gpu vulkan|false] [-p 512] [-n 128] [--repeat 3]
//
// Prints one JSON object: {backend, prefill_tokens_per_s, decode_tokens_per_s}.
import path from "node:path";
import {pathToFileURL} from "node:url";

function parseArgs(argv) {
    const args = {gpu: "vulkan", prompt: 512, generate: 128, repeat: 3, batch: 256};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === "--gpu") args.gpu = value();
        else if (a === "-p") args.prompt = Number(value());
        else if (a === "-n") args.generate = Number(value());
        else if (a === "--repeat") args.repeat = Number(value());
        else if (a === "--batch") args.batch = Number(value());
        else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
        else args.model = a;
    }
    if (!args.model) throw new Error("usage: llama_cpp_bench.mjs model.gguf [--gpu vulkan|false] [-p N] [-n N] [--repeat R]");
    if (args.gpu === "false") args.gpu = false;
    return args;
}

async function importNodeLlamaCpp() {
    const modules = process.env.ARCHSCOPE_NODE_LLAMA_CPP;
    if (modules) return import(pathToFileURL(path.join(modules, "node-llama-cpp", "dist", "index.js")).href);
    return import("node-llama-cpp");
}

const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const {getLlama, LlamaLogLevel} = await importNodeLlamaCpp();
    const llama = await getLlama({gpu: args.gpu, logLevel: LlamaLogLevel.error, build: "never"});
    const model = await llama.loadModel({modelPath: path.resolve(args.model), gpuLayers: args.gpu ? "max" : 0});
    const vocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? 256;
    // The same prompt archscope-cli bench feeds: (i * 7919 + 13) mod vocab.
    const prompt = Array.from({length: args.prompt}, (_, i) => (i * 7919 + 13) % vocab);
    const prefill = [], decode = [];
    for (let r = 0; r < args.repeat; r++) {
        const context = await model.createContext({
            contextSize: args.prompt + args.generate + 8,
            batchSize: Math.min(args.batch, args.prompt),
            sequences: 1,
            flashAttention: false,
        });
        const sequence = context.getSequence();
        let start = performance.now();
        await sequence.evaluateWithoutGeneratingNewTokens(prompt);
        prefill.push(args.prompt / ((performance.now() - start) / 1000));
        start = performance.now();
        let produced = 0;
        for await (const token of sequence.evaluate([prompt[prompt.length - 1]], {temperature: 0})) {
            void token;
            if (++produced >= args.generate) break;
        }
        decode.push(produced / ((performance.now() - start) / 1000));
        await context.dispose();
    }
    console.log(JSON.stringify({
        model: args.model,
        backend: args.gpu ? `llama.cpp ${args.gpu} (${llama.getGpuDeviceNames ? (await llama.getGpuDeviceNames()).join(", ") : ""})` : "llama.cpp cpu",
        prompt_tokens: args.prompt,
        generated_tokens: args.generate,
        prefill_tokens_per_s: median(prefill),
        decode_tokens_per_s: median(decode),
    }, null, 1));
    await model.dispose();
    await llama.dispose();
}

main().catch((e) => {
    console.error(`llama_cpp_bench: ${e?.message ?? e}`);
    process.exit(1);
});
