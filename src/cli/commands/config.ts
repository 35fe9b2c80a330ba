import type { Argv } from 'yargs';
import { typed, withService, outputOptions, type GlobalArgs } from '../run.js';
import { out } from '../output.js';
import { UsageError } from '../../errors.js';
import { vaultLocation } from '../../config/config.js';
import type { PathArg } from '../../service/locate.js';

interface VaultAddArgs {
  type: 'fs' | 's3';
  name: string;
  path?: PathArg;
  bucket?: string;
  prefix?: string;
  metadataBucket?: string;
  metadataPrefix?: string;
  region?: string;
  endpoint?: string;
  pathStyle?: boolean;
  storageClass?: string;
  profile?: string;
  sseKmsKeyId?: string;
  connections?: number;
}

export function configCommand(y: Argv): Argv {
  return y
    .command('init', 'write a new config with a new host id and the local vault', (b) =>
      b.option('host-id', { type: 'string', describe: 'use this host id (a UUID) instead of a new one' })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing config' }),
    typed(async (argv: GlobalArgs & { hostId?: string; force: boolean }) => {
      const { initConfig } = await import('../../service/config-admin.js');
      const r = await initConfig(process.env, { hostId: argv.hostId, force: argv.force });
      if (!outputOptions(argv).quiet) out(`wrote ${r.file} (host_id ${r.config.host_id}, vault 'local' at ${vaultLocation(r.config.vaults[0]!)})`);
    }))
    .command('list', 'show the effective configuration', (b) => b.option('json', { type: 'boolean', default: false }),
      typed((argv: GlobalArgs & { json: boolean }) => withService(argv, (svc) => {
        const c = svc.config;
        if (argv.json) {
          out(JSON.stringify({ config_file: svc.configFile, ...c }, null, 2));
          return;
        }
        out(`config_file = ${svc.configFile}`);
        for (const k of ['host_id', 'base_dir', 'log_dir', 'data_dir', 'staging_dir', 'metadata_keep'] as const) out(`${k} = ${c[k]}`);
        out(`ignore_list = ${JSON.stringify(c.ignore_list)}`);
        for (const v of c.vaults) out(`vault.${v.name} = ${v.type} ${vaultLocation(v)}`);
      })))
    .command('vault', 'manage vaults', (v) => vaultCommands(v).demandCommand(1, 'name a vault command: add, list, remove, init'))
    .demandCommand(1, 'name a config command: init, list, vault');
}

function vaultCommands(y: Argv): Argv {
  return y
    .command('add <type> <name>', 'add a vault: fs (a directory) or s3 (a bucket)', (b) =>
      b.positional('type', { type: 'string', choices: ['fs', 's3'], demandOption: true })
        .positional('name', { type: 'string', demandOption: true })
        .option('path', { type: 'string', describe: 'fs: root directory of the vault' })
        .option('bucket', { type: 'string', describe: 's3: bucket for content (and metadata)' })
        .option('prefix', { type: 'string', describe: 's3: key prefix for content' })
        .option('metadata-bucket', { type: 'string', describe: 's3: bucket for metadata (default: --bucket)' })
        .option('metadata-prefix', { type: 'string', describe: 's3: key prefix for metadata (default: --prefix)' })
        .option('region', { type: 'string', describe: 's3: region (default: from the AWS config, else us-east-1)' })
        .option('endpoint', { type: 'string', describe: 's3: endpoint URL of an S3-compatible store' })
        .option('path-style', { type: 'boolean', describe: 's3: path-style addressing (MinIO, Garage, Ceph)' })
        .option('storage-class', { type: 'string', describe: 's3: storage class for content (STANDARD, STANDARD_IA, GLACIER, DEEP_ARCHIVE...)' })
        .option('profile', { type: 'string', describe: 's3: AWS shared-config profile for credentials' })
        .option('sse-kms-key-id', { type: 'string', describe: 's3: SSE-KMS key id for content and metadata' })
        .option('connections', { type: 'number', describe: 's3: requests in flight (default 8)' }),
    typed((argv: GlobalArgs & VaultAddArgs) => withService(argv, (svc) => {
      if (argv.type === 'fs') {
        if (!argv.path) throw new UsageError('an fs vault needs --path DIR');
        svc.addFsVault(argv.name, argv.path);
      } else {
        if (!argv.bucket) throw new UsageError('an s3 vault needs --bucket NAME');
        svc.addS3Vault(argv.name, {
          bucket: argv.bucket, prefix: argv.prefix, metadataBucket: argv.metadataBucket, metadataPrefix: argv.metadataPrefix, region: argv.region,
          endpoint: argv.endpoint, pathStyle: argv.pathStyle, storageClass: argv.storageClass, profile: argv.profile, kmsKeyId: argv.sseKmsKeyId,
          connections: argv.connections,
        });
      }
      if (!argv.quiet) out(`added vault '${argv.name}'; run 'bt config vault init ${argv.name}' to prepare it`);
    }), ['path']))
    .command('list', 'list vaults', (b) => b.option('json', { type: 'boolean', default: false }),
      typed((argv: GlobalArgs & { json: boolean }) => withService(argv, (svc) => {
        if (argv.json) out(JSON.stringify(svc.config.vaults, null, 2));
        else for (const v of svc.config.vaults) out(`${v.name}\t${v.type}\t${vaultLocation(v)}`);
      })))
    .command('remove <name>', 'remove a vault from the config (its data is left alone)', (b) => b.positional('name', { type: 'string', demandOption: true }),
      typed((argv: GlobalArgs & { name: string }) => withService(argv, (svc) => {
        svc.removeVault(argv.name);
        if (!argv.quiet) out(`removed vault '${argv.name}' from the config`);
      })))
    .command('init [name]', 'create a vault\'s layout and check it with a write/read/delete round trip', (b) =>
      b.positional('name', { type: 'string' }).option('create-bucket', { type: 'boolean', default: false, describe: 's3: create the bucket(s) if missing' }),
      typed((argv: GlobalArgs & { name?: string; createBucket: boolean }) => withService(argv, async (svc) => {
        const done = await svc.initVaults(argv.name, { createBucket: argv.createBucket });
        if (!argv.quiet) for (const d of done) out(`vault ${d} is ready`);
      })));
}
