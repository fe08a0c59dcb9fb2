// Dev and test tool: renders chat templates with @huggingface/jinja (the JavaScript Jinja
// that transformers.js and node-llama-cpp use), the reference archscope's interpreter is
// held to (tests/tokenizer/jinja_reference_test.cpp).
//
//   ARCHSCOPE_NODE_LLAMA_CPP=/opt/ref/node_modules node tests/tokenizer/jinja_reference.mjs cases.json
//
// cases.json: {"now": <unix seconds for strftime_now>, "cases": [{"name", "template", "context"}]}.
// Prints [{"name", "output"} or {"name", "error"}], one per case, as JSON.
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

async function importJinja() {
    const modules = process.env.ARCHSCOPE_NODE_LLAMA_CPP;
    if (modules) return import(pathToFileURL(path.join(modules, "@huggingface", "jinja", "dist", "index.js")).href);
    return import("@huggingface/jinja");
}

// strftime_now reads `new Date()`: a fixed clock makes the rendering reproducible.
function fixClock(seconds) {
    const RealDate = Date;
    const fixed = seconds * 1000;
    globalThis.Date = class extends RealDate {
        constructor(...args) {
            if (args.length === 0) super(fixed);
            else super(...args);
        }
        static now() {
            return fixed;
        }
    };
}

async function main() {
    if (process.argv.length < 3) throw new Error("usage: jinja_reference.mjs cases.json");
    const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
    if (input.now) fixClock(input.now);
    const {Template} = await importJinja();
    const results = [];
    for (const c of input.cases) {
        try {
            results.push({name: c.name, output: new Template(c.template).render(c.context)});
        } catch (e) {
            results.push({name: c.name, error: String(e && e.message ? e.message : e)});
        }
    }
    process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
    process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
    process.exit(1);
});
