// Worker thread: a backup's database writes (Database.recordBackup) on their
// own connection, so that the thread that reads, hashes and stores files
// goes on while a commit of thousands of files is written.
import { parentPort, workerData } from 'node:worker_threads';
import { postError, type PostedError } from '../errors.js';
import { Database } from './database.js';
import type { BackupRecord, BackupRecordResult } from './types.js';

export interface RecordJob {
  seq: number;
  records: BackupRecord[];
  durable: string[];
  runId: string;
  now: number;
}

export type RecordReply = { seq: number; results: BackupRecordResult[] } | ({ seq: number } & PostedError);

const db = new Database((workerData as { dataDir: string }).dataDir);

parentPort!.on('message', (job: RecordJob | 'close') => {
  if (job === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let reply: RecordReply;
  try {
    reply = { seq: job.seq, results: db.recordBackup(job.records, job.durable, job.runId, job.now) };
  } catch (err) {
    reply = { seq: job.seq, ...postError(err) };
  }
  parentPort!.postMessage(reply);
});
