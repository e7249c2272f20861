// The worker service (services/worker): ready once started, one job at a
// time, and on its down-signal it finishes the job under way, then exits 0.
import { onShutdown, quitRequested, ready, session, sleep } from 'svkit';

console.log('worker: started');
let done = 0;
onShutdown(() => console.log(`worker: stopping after ${done} jobs`));
ready();
while (!quitRequested()) {
  await session(`job ${done + 1}`, () => sleep(200)); // stands for real work
  done += 1;
  if (done % 50 === 0) console.log(`worker: ${done} jobs done`);
  await sleep(1000); // ends early when a stop is requested
}
