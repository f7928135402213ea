import { DEFAULT_MODEL } from '../../io/resolve.ts';
import { generate } from '../../models/generate.ts';
import { loadModel } from '../../models/load.ts';
import { nodeRuntime } from '../../runtime/index.ts';
import { UsageError, type Command } from '../command.ts';
import { numberOption, threadsOption } from '../numbers.ts';

const usage = `Usage: reverie generate [--model M] [--prompt P] [--max-tokens N] [--temperature T] [--seed S]

Text from a model, to check that it loaded right: greedy at temperature 0, seeded sampling otherwise.
The prompt gets a BOS where the model's tokenizer uses one; the text stops at EOS or after N tokens.

Options:
  -m, --model M        path or hub id (default ${DEFAULT_MODEL})
  -p, --prompt P       text to continue (default: empty, i.e. from BOS)
  -n, --max-tokens N   most new tokens (default 256)
  -t, --temperature T  0 for greedy (default), > 0 to sample from softmax(logits / T)
  -s, --seed S         seed of the sampler (default 0)
      --threads N      ONNX Runtime threads (default: all cores)`;

export const generateCommand: Command = {
  name: 'generate',
  summary: 'greedy or sampled text from a model (a sanity check of a loaded model)',
  usage,
  options: {
    model: { type: 'string', short: 'm' },
    prompt: { type: 'string', short: 'p' },
    'max-tokens': { type: 'string', short: 'n' },
    temperature: { type: 'string', short: 't' },
    seed: { type: 'string', short: 's' },
    threads: { type: 'string' },
  },
  async run(values) {
    const maxTokens = numberOption(values, 'max-tokens', 256, { usage });
    const temperature = numberOption(values, 'temperature', 0, { integer: false, usage });
    const seed = numberOption(values, 'seed', 0, { usage });
    const threads = threadsOption(values, usage);
    const model = await loadModel((values.model as string | undefined) ?? DEFAULT_MODEL);
    const tokenizer = model.tokenizer;
    if (!tokenizer)
      throw new UsageError(
        `model ${model.id} has no tokenizer; generate needs one to read the prompt and print text`,
      );
    const prompt = tokenizer.encode((values.prompt as string | undefined) ?? '');
    if (prompt.length === 0)
      throw new UsageError(`the tokenizer of ${model.id} has no BOS token: give a non-empty --prompt`);

    // Stream the text: print what the decoded sequence adds, once it is whole UTF-8.
    const ids = [...prompt];
    let printed = tokenizer.decode(ids);
    process.stdout.write(printed);
    const started = performance.now();
    const generated = await generate(model, {
      runtime: nodeRuntime,
      prompt,
      maxTokens,
      temperature,
      seed,
      ...(threads !== undefined && { threads }),
      onToken(id) {
        ids.push(id);
        const text = tokenizer.decode(ids);
        if (text.startsWith(printed) && !text.endsWith('\uFFFD')) {
          process.stdout.write(text.slice(printed.length));
          printed = text;
        }
      },
    });
    const text = tokenizer.decode(ids);
    process.stdout.write(`${text.startsWith(printed) ? text.slice(printed.length) : ''}\n`);
    const seconds = (performance.now() - started) / 1000;
    console.error(
      `${generated.length} tokens in ${seconds.toFixed(2)} s (${(generated.length / seconds).toFixed(1)} tok/s)`,
    );
  },
};
