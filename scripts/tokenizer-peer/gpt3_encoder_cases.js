// Conformance cases for reckoning's GPT-2 BPE (tests/text/bpe_peer_test.cpp): generates varied strings
// from a seeded generator and prints one JSON line per string, {"text": ..., "ids": [...]}, with the
// ids of the npm package gpt-3-encoder (OpenAI's GPT-2 encoder ported to JavaScript).
//
// Usage: node gpt3_encoder_cases.js NPM_DIR COUNT SEED
//   NPM_DIR: the folder holding node_modules/gpt-3-encoder (build-deps/npm after install-deps.sh).
// Deterministic: the same COUNT and SEED give the same lines.
//
// Known, deliberate differences from the peer, kept out of the generated strings:
// - "<|endoftext|>": the package encodes it as ordinary text; reckoning as the special token 50256.
//   Lines with "ordinary": true contain it and are compared with BpeTokenizer::encode_ordinary.
// - U+0085, U+FEFF: JavaScript's \s leaves out U+0085 and adds U+FEFF; reckoning follows Python's
//   `regex` (OpenAI's reference) and HF tokenizers, where \s is Unicode White_Space.
// - Characters whose Unicode class changed after Unicode 14 (PCRE2 10.42) are avoided by drawing
//   random code points only from long-stable ranges.
'use strict';
const path = require('path');

const [npmDir, countArg, seedArg] = process.argv.slice(2);
if (!npmDir || !countArg || !seedArg) {
  process.stderr.write('usage: node gpt3_encoder_cases.js NPM_DIR COUNT SEED\n');
  process.exit(2);
}
const encoder = require(path.resolve(npmDir, 'node_modules', 'gpt-3-encoder'));

// mulberry32: small, fast, fully specified PRNG (Math.random cannot be seeded).
let state = Number(seedArg) >>> 0;
function rand() {
  state = (state + 0x6D2B79F5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + int(hi - lo + 1));

const words = ('the of and a to in is you that it he was for on are as with his they I at be this ' +
  'have from or one had by word but not what all were we when your can said there use an each ' +
  'which she do how their if will up other about out many then them these so some her would make ' +
  'like him into time has look two more write go see number no way could people my than first ' +
  'water been call who oil its now find long down day did get come made may part Scott Lewis ' +
  'grandson brother daughter Jason fact_1 Bob Anne Erin kind quiet rough nice big young furry ' +
  'München naïve café façade Ångström Ελλάδα Москва привет мир 日本語 東京 中文 北京 한국어 ' +
  '안녕하세요 مرحبا العربية नमस्ते हिन्दी ประเทศไทย שלום Straße encyclopædia œuvre Łódź İstanbul ǅemal ' +
  'HTTP URL JSON camelCase snake_case ALLCAPS iPhone x86_64 a1b2 v2.0').split(' ');
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", '’s', "n't",
  "'x", "''", "'", "'ll've"];
const punct = ['.', ',', '!', '?', ';', ':', '-', '--', '...', '(', ')', '[', ']', '{', '}', '"', "'",
  '`', '/', '\\', '|', '@', '#', '$', '%', '^', '&', '*', '+', '=', '~', '<', '>', '_', '<|', '|>',
  '—', '–', '…', '«', '»', '¿', '¡', '©', '®', '™', '°', '±', '§', '¶', '•', '€', '£', '¥', ',,',
  ',,,', '::', '!!', '?!', '.,', '",', '),', "',"];
const spaces = [' ', '  ', '   ', '\n', '\n\n', '\t', ' \n', '\n ', '\r\n', '\u00a0', '\u3000',
  '\u2028', '\u2029', '\u2003', '\u202f', '\u205f', '\u1680', '\v', '\f', '      ', '\n\n\n',
  ' \t ', '\u200b', '\u2060'];
const numberish = ['3.14', '1,000', '１２３', '²', '½', 'Ⅻ', '٣٤٥', '४२', '0x1F', '1e10', '-7',
  '2023-11-26', '12:30', '٠١٢'];
const emoji = ['👍🏽', '👨‍👩‍👧', '🇺🇸', '❤️', '#️⃣', '🤖', '😀😀', '✨', '☃', '🏳️‍🌈'];
const blocks = [[0x4E00, 0x9FFF], [0x3041, 0x3096], [0x30A1, 0x30FA], [0xAC00, 0xD7A3],
  [0x0621, 0x0652], [0x0905, 0x094D], [0x0410, 0x044F], [0x0391, 0x03C9], [0x05D0, 0x05EA],
  [0x0E01, 0x0E3A], [0x00C0, 0x00FF], [0x0300, 0x036F], [0x0100, 0x017F], [0x1F600, 0x1F64F],
  [0x1F300, 0x1F5FF], [0x1F680, 0x1F6FF], [0x1F900, 0x1F9FF]];

function randomCodePoint() {
  for (;;) {  // stable BMP ranges; skip surrogates and the known \s differences
    const cp = rand() < 0.8 ? int(0x3000) : 0xA000 + int(0xFFFE - 0xA000);
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp === 0x85 || cp === 0x180E || cp === 0xFEFF) continue;
    return String.fromCodePoint(cp);
  }
}

function digits(n) {
  let s = '';
  for (let i = 0; i < n; ++i) s += String(int(10));
  return s;
}

function element() {
  const r = rand();
  if (r < 0.30) return pick(words);
  if (r < 0.38) return pick(contractions);
  if (r < 0.50) return pick(punct);
  if (r < 0.62) return pick(spaces);
  if (r < 0.68) return rand() < 0.7 ? digits(1 + int(12)) : pick(numberish);
  if (r < 0.72) return pick(emoji);
  if (r < 0.85) {
    const [lo, hi] = pick(blocks);
    let s = '';
    for (let n = 1 + int(6); n > 0; --n) s += range(lo, hi);
    return s;
  }
  if (r < 0.90) return randomCodePoint();
  if (r < 0.93) return pick(words).toUpperCase();
  if (r < 0.95) return pick([' ', '\n', '\t', '0', 'a', '!', ' !', "'s", '\u00a0']).repeat(2 + int(40));
  return pick(words) + pick(contractions);
}

function prose() {
  const parts = [];
  for (let n = 1 + int(25); n > 0; --n) {
    let w = pick(words);
    if (rand() < 0.15) w = w[0].toUpperCase() + w.slice(1);
    if (rand() < 0.1) w += pick(contractions);
    if (rand() < 0.15) w += pick(punct);
    parts.push(w);
  }
  let s = parts.join(rand() < 0.8 ? ' ' : pick(spaces));
  if (rand() < 0.3) s = pick(spaces) + s;
  if (rand() < 0.3) s += pick(spaces);
  return s;
}

function chaos() {
  let s = '';
  const n = rand() < 0.05 ? 60 + int(200) : 1 + int(20);
  for (let i = 0; i < n; ++i) s += element();
  return s;
}

const count = Number(countArg);
const out = [];
for (let i = 0; i < count; ++i) {
  let text = rand() < 0.4 ? prose() : chaos();
  text = text.split('<|endoftext|>').join('<|end|>');  // never the special literal (see above)
  out.push(JSON.stringify({ text, ids: encoder.encode(text) }));
}
// The special token as the peer sees it: ordinary text.
for (const text of ['<|endoftext|>', 'a<|endoftext|>b', ' <|endoftext|>\n<|endoftext|><|endoftext|>']) {
  out.push(JSON.stringify({ text, ids: encoder.encode(text), ordinary: true }));
}
process.stdout.write(out.join('\n') + '\n');
