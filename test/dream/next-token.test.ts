import { expect, it } from 'vitest';
import { nextTokens } from '../../src/dream/next-token.ts';
import { loadModel } from '../../src/models/load.ts';
import { trace } from '../../src/models/trace.ts';
import { parseTarget } from '../../src/objectives/target.ts';

it("gives the argmax of the model's next-token logits after each prompt, BOS included", async () => {
  const model = await loadModel('karpathy/tinyllamas/stories260K');
  const prompts = ['Once upon a time, there', 'The cat sat on the mat and'].map((t) =>
    model.tokenizer!.encode(t, { bos: false }).slice(0, 5),
  );
  const target = parseTarget('blocks.1.mlp.hook_post[3]', { model, seqLen: 6 });
  const next = await nextTokens(model, target, prompts, model.tokenizer!.bosId!, 1);
  for (const [i, ids] of prompts.entries()) {
    const { logits_last } = await trace(model, [model.tokenizer!.bosId!, ...ids], { bos: false });
    expect(next[i]).toBe(logits_last.indexOf(Math.max(...logits_last)));
  }
});
