// Preloaded into an hbd daemon (NODE_OPTIONS=--require …/block.js) for the 'block' load: its
// JavaScript thread spins BLOCK.forMs of every BLOCK.everyMs, while the engine thread runs on.
import { blockEventLoop } from '../../test/lab/env';
import { BLOCK } from '../detection/config';

setInterval(() => blockEventLoop(BLOCK.forMs), BLOCK.everyMs).unref();
