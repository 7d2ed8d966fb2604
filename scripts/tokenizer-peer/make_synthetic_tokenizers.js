// Writes small, hand-built tokenizer.json files that exercise parts of the Hugging Face tokenizer.json
// pipeline which the real files (Llama 2/Mistral, Llama 3, Qwen 3) do not, for conformance tests with
// hf_tokenizer_cases.js:
//   node hf_tokenizer_cases.js NPM_DIR OUT_DIR/<name>.json COUNT SEED
//
// Usage: node make_synthetic_tokenizers.js OUT_DIR [NPM_DIR]
//   OUT_DIR: created if missing; receives the files listed below.
//   NPM_DIR (optional): the folder holding node_modules/tokenizers; when given, each file is loaded with
//     Hugging Face's Tokenizer.fromFile and a sample text is encoded and decoded, as a smoke test.
// No packages needed to write the files. Deterministic output.
//
// The vocabularies and merges come from a tiny BPE trainer run over a fixed corpus below (most frequent
// pair first, ties broken by the smaller "left right" string), so every merge's parts and result are in
// the vocabulary. A few hundred entries each.
//
// Files:
//   metaspace_first_unk.json   (a) normalizer Sequence[NFKC, Strip(left, right)]; pre-tokenizer Metaspace
//       (replacement "▁", prepend_scheme "first", split true); decoder Metaspace (same settings); BPE with
//       byte_fallback false, unk_token "<unk>", fuse_unk false. The alphabet is printable ASCII, "\n",
//       "▁" and the corpus's characters; every other character becomes one <unk> each (not fused).
//       Merges written as "left right" strings.
//   split_merged_with_previous.json, split_merged_with_next.json, split_contiguous.json,
//   split_removed.json, split_isolated_invert.json, split_merged_with_previous_invert.json
//       (b) pre-tokenizer Sequence[Digits(individual_digits false), Split(String pattern, behavior,
//       invert), ByteLevel(add_prefix_space true, trim_offsets true, use_regex true)], ByteLevel decoder
//       and post-processor, byte-level BPE (all 256 byte symbols, so no unknowns), merges as
//       [left, right] pairs. Patterns: "." MergedWithPrevious, "\n" MergedWithNext, "-" Contiguous,
//       " " Removed, "e" Isolated + invert, " " MergedWithPrevious + invert.
//   added_tokens.json   (c) byte-level BPE (ByteLevel pre-tokenizer, add_prefix_space false, use_regex
//       true), normalizer Sequence[NFKC, Lowercase], added tokens with lstrip / rstrip / both / neither,
//       single_word, special and not, normalized true and false, and normalized ones whose content the
//       normalizer changes ("Hello World" -> "hello world", "ﬁne" -> "fine", "ＡＢＣ" -> "abc"), and one
//       ("--") that is also a model token, so it keeps the model's id. The ByteLevel decoder reads a
//       token's characters as byte symbols when all of them are ("naïve": n a 0xEF v e, not UTF-8) and
//       takes its UTF-8 as-is otherwise ("ＡＢＣ", "hello world").
//   ignore_merges.json   (d) byte-level BPE with ignore_merges true, and whole words in the vocabulary
//       that the merges cannot build (or build differently), so that the shortcut matters.
'use strict';
const fs = require('fs');
const path = require('path');

const [outDir, npmDir] = process.argv.slice(2);
if (!outDir) {
  process.stderr.write('usage: node make_synthetic_tokenizers.js OUT_DIR [NPM_DIR]\n');
  process.exit(2);
}

// --- training corpus (fixed) ---
const corpus = [
  'The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox ran into the woods.',
  'It was the best of times, it was the worst of times; it was the age of wisdom, it was the age of',
  'foolishness. There were many people in the town, and each of them had a kind word for the others.',
  'Scott is the grandson of Lewis. Anne is the daughter of Bob, and Jason is her brother. Erin said that',
  'she would call them when the water was hot. They made a long list of things to do: write, read, go out,',
  'look for the number, find the way, and come back before the day is done. What do you think? I don\'t',
  'know, but we\'ll see. He\'s nice, she\'s quiet, and they\'re young. You\'ve been here before, haven\'t you?',
  'def main():\n    for i in range(10):\n        print(i, i * 2)\n    return 0\n',
  'int main(void) { int x = 42; return x - 1; } // the end -- or is it? 3.14 1,000 2023-11-26 12:30',
  'München café naïve façade Straße encyclopædia œuvre Ελλάδα Москва привет мир 日本語 東京 中文',
  'http://example.com/path?q=1&r=two user@example.org x_1 := y_2 ... !! ?! -- --- == === ***',
  'first second third fourth fifth 100% $19.99 v1.2.3 the the the and and of of to to in in is is',
].join('\n');

// --- a tiny deterministic BPE trainer ---
// words: Map(word string -> count); split(word) gives its initial symbols. Returns [merges, newTokens].
function trainBpe(words, split, numMerges) {
  const entries = [...words.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w, c]) => ({ syms: split(w), count: c }));
  const merges = [];
  for (let m = 0; m < numMerges; ++m) {
    const counts = new Map();
    for (const { syms, count } of entries) {
      for (let i = 0; i + 1 < syms.length; ++i) {
        const key = syms[i] + ' ' + syms[i + 1];
        counts.set(key, (counts.get(key) || 0) + count);
      }
    }
    let best = null;
    let bestCount = 0;
    for (const [key, c] of counts) {
      if (c > bestCount || (c === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best === null) break;
    // A pair key "l r" is ambiguous only if a symbol holds a space; none do (spaces are "▁" or "Ġ").
    const [l, r] = best.split(' ');
    merges.push([l, r]);
    for (const e of entries) {
      const out = [];
      for (let i = 0; i < e.syms.length; ++i) {
        if (i + 1 < e.syms.length && e.syms[i] === l && e.syms[i + 1] === r) {
          out.push(l + r);
          ++i;
        } else {
          out.push(e.syms[i]);
        }
      }
      e.syms = out;
    }
  }
  return merges;
}

function countWords(list) {
  const m = new Map();
  for (const w of list) if (w.length > 0) m.set(w, (m.get(w) || 0) + 1);
  return m;
}

// GPT-2's byte <-> printable-character table.
function bytesToUnicode() {
  const bs = [];
  for (let b = 0x21; b <= 0x7e; ++b) bs.push(b);
  for (let b = 0xa1; b <= 0xac; ++b) bs.push(b);
  for (let b = 0xae; b <= 0xff; ++b) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; ++b) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      ++n;
    }
  }
  const map = new Array(256);
  bs.forEach((b, i) => { map[b] = String.fromCodePoint(cs[i]); });
  return map;
}
const byteChar = bytesToUnicode();
const toByteLevel = (s) => Array.from(Buffer.from(s, 'utf8'), (b) => byteChar[b]).join('');
// GPT-2's pre-tokenizer pattern (ByteLevel use_regex), in JavaScript syntax; only used for training.
const gpt2Split = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

// --- vocabularies ---
// Byte-level: the 256 byte symbols (in byte order), then the merge results.
function byteLevelVocab(numMerges) {
  const words = countWords((corpus.match(gpt2Split) || []).map(toByteLevel));
  const merges = trainBpe(words, (w) => Array.from(w), numMerges);
  const vocab = new Map();
  for (let b = 0; b < 256; ++b) vocab.set(byteChar[b], vocab.size);
  for (const [l, r] of merges) if (!vocab.has(l + r)) vocab.set(l + r, vocab.size);
  return { vocab, merges };
}

// Metaspace: <unk>, <s>, </s>, then the alphabet (by code point), then the merge results.
function metaspaceVocab(numMerges) {
  const text = corpus.normalize('NFKC');
  const words = countWords(text.split(' ').map((w) => '▁' + w));
  const alphabet = new Set(['▁', '\n']);
  for (let c = 0x21; c <= 0x7e; ++c) alphabet.add(String.fromCharCode(c));
  for (const ch of text) if (ch !== ' ') alphabet.add(ch);
  const merges = trainBpe(words, (w) => Array.from(w), numMerges);
  const vocab = new Map([['<unk>', 0], ['<s>', 1], ['</s>', 2]]);
  for (const ch of [...alphabet].sort((a, b) => a.codePointAt(0) - b.codePointAt(0))) vocab.set(ch, vocab.size);
  for (const [l, r] of merges) if (!vocab.has(l + r)) vocab.set(l + r, vocab.size);
  return { vocab, merges };
}

// --- tokenizer.json assembly ---
function addedToken(id, content, o = {}) {
  return { id, content, single_word: !!o.single_word, lstrip: !!o.lstrip, rstrip: !!o.rstrip,
    normalized: !!o.normalized, special: !!o.special };
}
function bpeModel(vocab, merges, o = {}) {
  return {
    type: 'BPE',
    dropout: null,
    unk_token: o.unk_token === undefined ? null : o.unk_token,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: !!o.fuse_unk,
    byte_fallback: !!o.byte_fallback,
    ignore_merges: !!o.ignore_merges,
    vocab: '@VOCAB@',
    merges: o.merges_as_strings ? merges.map(([l, r]) => `${l} ${r}`) : merges,
  };
}
// Pretty JSON like tokenizers' save(pretty): the vocab in id order (a JS object would move integer-like
// keys such as "0" first).
function render(tok, vocab) {
  const vocabText = '{\n' + [...vocab].map(([k, id]) => `      ${JSON.stringify(k)}: ${id}`).join(',\n') +
    '\n    }';
  return JSON.stringify(tok, null, 2).replace('"@VOCAB@"', () => vocabText);
}
function tokenizerJson({ added = [], normalizer = null, preTokenizer = null, postProcessor = null,
  decoder = null, model }) {
  return { version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer,
    pre_tokenizer: preTokenizer, post_processor: postProcessor, decoder, model };
}
const byteLevel = (addPrefixSpace, useRegex) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace,
  trim_offsets: true, use_regex: useRegex });

const files = [];  // [name, text]

// (a) Metaspace, prepend_scheme first, unk without fusing, NFKC + Strip.
{
  const { vocab, merges } = metaspaceVocab(250);
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
  files.push(['metaspace_first_unk.json', render(tokenizerJson({
    added: [addedToken(0, '<unk>', { special: true }), addedToken(1, '<s>', { special: true }),
      addedToken(2, '</s>', { special: true })],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' },
      { type: 'Strip', strip_left: true, strip_right: true }] },
    preTokenizer: metaspace,
    decoder: metaspace,
    model: bpeModel(vocab, merges, { unk_token: '<unk>', fuse_unk: false, byte_fallback: false,
      merges_as_strings: true }),
  }), vocab)]);
}

const bl = byteLevelVocab(300);
const endOfText = (vocab) => addedToken(vocab.size, '<|endoftext|>', { special: true });

// (b) Digits + Split(String) + ByteLevel(add_prefix_space).
for (const [name, pattern, behavior, invert] of [
  ['split_merged_with_previous.json', '.', 'MergedWithPrevious', false],
  ['split_merged_with_next.json', '\n', 'MergedWithNext', false],
  ['split_contiguous.json', '-', 'Contiguous', false],
  ['split_removed.json', ' ', 'Removed', false],
  ['split_isolated_invert.json', 'e', 'Isolated', true],
  ['split_merged_with_previous_invert.json', ' ', 'MergedWithPrevious', true],
]) {
  files.push([name, render(tokenizerJson({
    added: [endOfText(bl.vocab)],
    preTokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Digits', individual_digits: false },
      { type: 'Split', pattern: { String: pattern }, behavior, invert },
      byteLevel(true, true),
    ] },
    postProcessor: byteLevel(true, true),
    decoder: byteLevel(true, true),
    model: bpeModel(bl.vocab, bl.merges),
  }), bl.vocab)]);
}

// (c) Added tokens: lstrip / rstrip, normalized or not, content changed by the normalizer.
// Ids: an added token whose content is already in the model's vocabulary takes that id ("--" here);
// the others are numbered on from the vocabulary size. (Hugging Face assigns ids this way when it loads
// a file, whatever the "id" fields say, so the file must agree.)
{
  let next = bl.vocab.size;
  const tok = (content, o) => addedToken(bl.vocab.has(content) ? bl.vocab.get(content) : next++, content, o);
  if (!bl.vocab.has('--')) throw new Error('expected "--" in the byte-level vocabulary');
  const added = [
    tok('<|endoftext|>', { special: true }),
    tok('<mask>', { special: true, lstrip: true }),
    tok('[SEP]', { special: true, rstrip: true }),
    tok('<|im_start|>', { special: true, lstrip: true, rstrip: true }),
    tok('Hello World', { normalized: true }),            // normalizes to "hello world"
    tok('ﬁne', { normalized: true, lstrip: true }),       // NFKC: "fine"
    tok('ＡＢＣ', { normalized: false, rstrip: true }),   // matched before NFKC only
    tok('quiet', { normalized: true, single_word: true }),
    tok('--', { normalized: false, lstrip: true, rstrip: true }),  // also a model token
    tok('the end', { normalized: true, rstrip: true }),
    tok('naïve', { normalized: false }),  // "ï" is also a byte-level symbol (byte 0xEF): see decode
  ].sort((a, b) => a.id - b.id);  // as tokenizers saves them
  files.push(['added_tokens.json', render(tokenizerJson({
    added,
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    preTokenizer: byteLevel(false, true),
    postProcessor: byteLevel(false, true),
    decoder: byteLevel(false, true),
    model: bpeModel(bl.vocab, bl.merges),
  }), bl.vocab)]);
}

// (d) ignore_merges: whole words in the vocabulary that the merges do not build.
{
  const vocab = new Map(bl.vocab);
  const extra = ['quiet', 'Scott', 'grandson', 'München', 'Ελλάδα', '日本語', 'iPhone', 'encyclopædia',
    'HTTP', 'furry', 'the', 'and', '123', '2023', '...', '!!', '\n\n', '    '];
  for (const w of extra) {
    for (const form of [w, ' ' + w]) {
      const t = toByteLevel(form);
      if (!vocab.has(t)) vocab.set(t, vocab.size);
    }
  }
  files.push(['ignore_merges.json', render(tokenizerJson({
    added: [endOfText(vocab)],
    preTokenizer: byteLevel(false, true),
    postProcessor: byteLevel(false, true),
    decoder: byteLevel(false, true),
    model: bpeModel(vocab, bl.merges, { ignore_merges: true }),
  }), vocab)]);
}

fs.mkdirSync(outDir, { recursive: true });
for (const [name, text] of files) fs.writeFileSync(path.join(outDir, name), text);
process.stderr.write(`wrote ${files.length} files to ${outDir}\n`);
for (const [name, text] of files) {
  const j = JSON.parse(text);
  process.stderr.write(`  ${name}: ${Object.keys(j.model.vocab).length} vocab entries, ${j.model.merges.length} ` +
    `merges, ${j.added_tokens.length} added tokens\n`);
}

// --- optional smoke test with Hugging Face tokenizers ---
if (npmDir) {
  const { Tokenizer } = require(path.resolve(npmDir, 'node_modules', 'tokenizers'));
  const sample = ' Hello World, the quick ﬁne ＡＢＣ fox -- 12³ ٣٤٥ <mask> [SEP] quiet\n日本語 😀 e.g. a-b--c';
  (async () => {
    for (const [name] of files) {
      const tok = Tokenizer.fromFile(path.resolve(outDir, name));
      for (const t of JSON.parse(fs.readFileSync(path.resolve(outDir, name), 'utf8')).added_tokens) {
        const id = tok.tokenToId(t.content);
        if (id !== t.id) throw new Error(`${name}: added token ${JSON.stringify(t.content)} loads as id ${id}, not ${t.id}`);
      }
      const enc = await tok.encode(sample, null, { addSpecialTokens: false });
      const decoded = await tok.decode(enc.getIds(), false);
      process.stderr.write(`${name}: vocab ${tok.getVocabSize(true)}, ${enc.getIds().length} ids, ` +
        `decoded ${JSON.stringify(decoded)}\n`);
    }
  })().catch((e) => {
    process.stderr.write(String(e && e.stack || e) + '\n');
    process.exit(1);
  });
}
