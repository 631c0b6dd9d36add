// Writes the reference-ids.json fixtures with the Hugging Face `tokenizers` library (Rust, Node binding 0.23.2):
//   mkdir /tmp/hf && cd /tmp/hf && npm install tokenizers@0.23.2
//   gunzip -c qwen3/tokenizer.json.gz > /tmp/hf/qwen3.json
//   NODE_PATH=/tmp/hf/node_modules node make-reference.js /tmp/hf/qwen3.json > qwen3/reference-ids.json
//   NODE_PATH=/tmp/hf/node_modules node make-reference.js \
//     ../../../../src/TinkerFlow.Local/BuiltinModels/tiny-qwen3/tokenizer.json > tiny-qwen3/reference-ids.json
// (paths relative to this folder, tests/TinkerFlow.Local.Tests/Fixtures/tokenizers/).
const { Tokenizer } = require('tokenizers');

const texts = [
  'Hello, world! 123',
  '<|im_start|>',
  '',
  ' ',
  '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 17+25?<|im_end|>\n<|im_start|>assistant\n',
  '<think>\nLet me add: 17+25=42.\n</think>\n\nThe answer is 42.<|im_end|>',
  '<|im_end|><|im_start|><|endoftext|>',
  '<|im_sta rt|> <|im_end',
  'Family: \u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}, flags \u{1F1EF}\u{1F1F5}, thumbs \u{1F44D}\u{1F3FD}',
  '你好，世界！机器学习很有趣。',
  '日本語のテキストと한국어 텍스트',
  'مرحبا بالعالم! ١٢٣',
  'Café naïve résumé Ångström'.normalize('NFD'),
  'line one\r\nline two\r\n\r\nline four\n',
  '3.14159 2,718 1000000 0x1F -42 １２３ ½ Ⅷ',
  "I'M here, DON'T go; they're we've you'll he'd",
  'def f(x):\n    return x  *  2\t# tab\n\n\n',
  '   leading and trailing   ',
  '\u{1D400}\u{1D401} \u{20000}\u{2A6D6} \u{1F600}',
  'नमस्ते שלום สวัสดี',
  'a\u0301e\u0300 \u1E9B\u0323',
  'The quick brown fox jumps over the lazy dog. '.repeat(3),
];

(async () => {
  const tokenizer = Tokenizer.fromFile(process.argv[2]);
  const cases = [];
  for (const text of texts) {
    const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
    cases.push('    ' + JSON.stringify({ text, ids: Array.from(encoding.getIds()) }));
  }
  process.stdout.write('{\n  "generator": "tokenizers 0.23.2 (npm), make-reference.js",\n  "cases": [\n'
    + cases.join(',\n') + '\n  ]\n}\n');
})();
