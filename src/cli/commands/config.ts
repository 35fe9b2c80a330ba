import type { Argv } from 'yargs';
import { typed, withService, outputOptions, type GlobalArgs } from '../run.js';
import { out } from '../output.js';

export function configCommand(y: Argv): Argv {
  return y
    .command('init', 'write a new config with a new host id and the local vault', (b) =>
      b.option('host-id', { type: 'string', describe: 'use this host id (a UUID) instead of a new one' })
        .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing config' }),
    typed(async (argv: GlobalArgs & { hostId?: string; force: boolean }) => {
      const { initConfig } = await import('../../service/config-admin.js');
      const r = await initConfig(process.env, { hostId: argv.hostId, force: argv.force });
      if (!outputOptions(argv).quiet) out(`wrote ${r.file} (host_id ${r.config.host_id}, vault 'local' at ${r.config.vaults[0]!.vault_root})`);
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
        for (const v of c.vaults) out(`vault.${v.name} = ${v.type} ${v.vault_root}`);
      })))
    .command('vault', 'manage vaults', (v) => vaultCommands(v).demandCommand(1, 'name a vault command: add, list, remove, init'))
    .demandCommand(1, 'name a config command: init, list, vault');
}

function vaultCommands(y: Argv): Argv {
  return y
    .command('add <type> <name>', 'add a vault (type: fs)', (b) =>
      b.positional('type', { type: 'string', choices: ['fs'], demandOption: true })
        .positional('name', { type: 'string', demandOption: true })
        .option('path', { type: 'string', describe: 'root directory of a filesystem vault', demandOption: true }),
    typed((argv: GlobalArgs & { type: string; name: string; path: string }) => withService(argv, (svc) => {
      svc.addFsVault(argv.name, argv.path);
      if (!argv.quiet) out(`added vault '${argv.name}'; run 'bt config vault init ${argv.name}' to prepare it`);
    })))
    .command('list', 'list vaults', (b) => b.option('json', { type: 'boolean', default: false }),
      typed((argv: GlobalArgs & { json: boolean }) => withService(argv, (svc) => {
        if (argv.json) out(JSON.stringify(svc.config.vaults, null, 2));
        else for (const v of svc.config.vaults) out(`${v.name}\t${v.type}\t${v.vault_root}`);
      })))
    .command('remove <name>', 'remove a vault from the config (its data is left alone)', (b) => b.positional('name', { type: 'string', demandOption: true }),
      typed((argv: GlobalArgs & { name: string }) => withService(argv, (svc) => {
        svc.removeVault(argv.name);
        if (!argv.quiet) out(`removed vault '${argv.name}' from the config`);
      })))
    .command('init [name]', 'create a vault\'s layout and check it with a write/read/delete round trip', (b) => b.positional('name', { type: 'string' }),
      typed((argv: GlobalArgs & { name?: string }) => withService(argv, async (svc) => {
        const done = await svc.initVaults(argv.name);
        if (!argv.quiet) for (const d of done) out(`vault ${d} is ready`);
      })));
}
