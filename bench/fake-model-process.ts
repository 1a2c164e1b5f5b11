/**
 * The fake OpenAI-compatible model server (standing in for vLLM) as a process of its own, as a
 * model server is: the runner and the direct client both reach it across processes, and it
 * does not share an event loop with the benchmark's clients. The parent sets the reply every
 * completion gets (`{ reply }`, answered `{ ok: true }`); closing the IPC channel ends it.
 */
import { type FakeReply, startFakeOpenAi } from '../tests/harness/fake-openai.ts';

const fake = await startFakeOpenAi();
const send = (message: unknown) => process.send?.(message);
process.on('message', (message: { reply: FakeReply }) => {
  fake.fallback = message.reply;
  send({ ok: true });
});
process.on('disconnect', () => {
  void fake.close().then(() => process.exit(0));
});
send({ baseUrl: fake.baseUrl });
