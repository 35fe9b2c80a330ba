// What a command can set going before the rest of the service layer loads
// (cli/run.ts): kept apart so that loading it costs next to nothing.
export { prepareWalkThread } from '../fsmgr/parallel-walk.js';
