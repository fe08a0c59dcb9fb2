// Dev tool: runs a GGUF file in llama.cpp (node-llama-cpp, CPU backend) and prints, as
// JSON, the top next-token probabilities after each given token: the reference archscope's
// own forward pass is compared with.
//
//   ARCHSCOPE_NODE_LLAMA_CPP=/opt/ref/node_modules \
//     node tests/writer/llama_cpp_check.mjs model.gguf [--tokens 1,2,3 | --text "Once upon"]
//                                           [--top 5] [--last-only] [--full] [--kv f32|f16]
//
// For an exact reference (see shared ARCHITECTURES.md, "Comparing with llama.cpp"): the KV
// cache is F32 and flash attention off, and temperature 0 makes node-llama-cpp return the
// raw softmax of the logits (no top-k / top-p). --kv f16 shows llama.cpp's default cache.
// Without --tokens the text is tokenized by llama.cpp itself (BOS added when the
// vocabulary asks for it), which also checks the tokenizer keys.
//
// Output: {model, architecture, vocab, chat_wrapper, tokens, positions: [{position,
// token, entropy, top: [{id, prob, piece}], probs?}]}; entropy in nats over the whole
// vocabulary; --full adds probs, every token's probability by id (for KL divergences).
import path from "node:path";
import {pathToFileURL} from "node:url";

function parseArgs(argv) {
    const args = {model: null, tokens: null, text: "Once upon a time, there was a", top: 5, lastOnly: false, full: false, kv: "F32"};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === "--tokens") args.tokens = value().split(",").filter((s) => s.length > 0).map((s) => {
            const n = Number(s);
            if (!Number.isInteger(n) || n < 0) throw new Error(`--tokens: "${s}" is not a token id`);
            return n;
        });
        else if (a === "--text") args.text = value();
        else if (a === "--top") args.top = Number(value());
        else if (a === "--last-only") args.lastOnly = true;
        else if (a === "--full") args.full = true;
        else if (a === "--kv") args.kv = value().toUpperCase();
        else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
        else if (args.model == null) args.model = a;
        else throw new Error(`unexpected argument ${a}`);
    }
    if (args.model == null) throw new Error("usage: llama_cpp_check.mjs model.gguf [--tokens 1,2,3 | --text TEXT] [--top N] [--last-only] [--full] [--kv f32|f16]");
    return args;
}

async function importNodeLlamaCpp() {
    const modules = process.env.ARCHSCOPE_NODE_LLAMA_CPP;
    if (modules) return import(pathToFileURL(path.join(modules, "node-llama-cpp", "dist", "index.js")).href);
    return import("node-llama-cpp");
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const {getLlama, resolveChatWrapper, LlamaLogLevel} = await importNodeLlamaCpp();
    const llama = await getLlama({gpu: false, logLevel: LlamaLogLevel.error, build: "never"});
    const model = await llama.loadModel({modelPath: path.resolve(args.model)});

    let tokens = args.tokens;
    if (tokens == null) {
        tokens = model.tokenize(args.text, false);
        if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) tokens = [model.tokens.bos, ...tokens];
    }
    if (tokens.length === 0) throw new Error("no tokens to evaluate");
    const vocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length ?? null;
    for (const t of tokens) {
        if (vocab != null && t >= vocab) throw new Error(`token ${t} is outside the vocabulary (${vocab})`);
    }

    const context = await model.createContext({
        contextSize: Math.max(tokens.length + 1, 32),
        batchSize: Math.max(tokens.length, 1),
        sequences: 1,
        flashAttention: false,
        experimentalKvCacheKeyType: args.kv,
        experimentalKvCacheValueType: args.kv,
    });
    const sequence = context.getSequence();
    const want = (i) => !args.lastOnly || i === tokens.length - 1;
    const input = tokens.map((t, i) => want(i)
        ? [t, {generateNext: {probabilities: true, options: {temperature: 0}}}]
        : t);
    const results = await sequence.controlledEvaluate(input);

    const positions = [];
    for (let i = 0; i < tokens.length; i++) {
        const probabilities = results[i]?.next?.probabilities;
        if (probabilities == null) continue;
        let entropy = 0;
        for (const p of probabilities.values()) if (p > 0) entropy -= p * Math.log(p);
        const top = [...probabilities.entries()]
            .sort((a, b) => b[1] - a[1] || a[0] - b[0])
            .slice(0, args.top)
            .map(([id, prob]) => ({id, prob, piece: model.detokenize([id], true)}));
        const entry = {position: i, token: tokens[i], entropy, top};
        if (args.full) {
            entry.probs = new Array(vocab ?? 0).fill(0);
            for (const [id, p] of probabilities) entry.probs[id] = p;
        }
        positions.push(entry);
    }

    let chatWrapper = null;
    try {
        chatWrapper = resolveChatWrapper(model)?.wrapperName ?? null;
    } catch {
        chatWrapper = null;
    }
    console.log(JSON.stringify({
        model: args.model,
        architecture: model.fileInfo.metadata?.general?.architecture ?? null,
        vocab,
        chat_wrapper: chatWrapper,
        kv_cache: args.kv,
        tokens,
        positions,
    }, null, 1));
    await context.dispose();
    await model.dispose();
    await llama.dispose();
}

main().catch((e) => {
    console.error(`llama_cpp_check: ${e?.message ?? e}`);
    process.exit(1);
});
