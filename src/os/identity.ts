// `user` (USER or USER:GROUP, names or numbers) resolved to ids through the
// system's name service (getent/id, so NSS users work too), before
// supervision starts: an unknown user is an invalid definition.
import { spawnSync } from 'node:child_process';
import { EXIT_INVALID } from '../defaults.js';
import { quote, SvError } from '../errors.js';

export interface Identity {
  name: string;
  uid: number;
  gid: number;
  /** Supplementary groups: the user's own, never root's. */
  groups: number[];
  home: string;
}

const getent = (db: 'passwd' | 'group', key: string): string[] | null => {
  const r = spawnSync('getent', [db, key], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.split('\n')[0] : undefined;
  return line ? line.split(':') : null;
};

const isNumber = (s: string) => /^\d+$/.test(s);

/** The largest user or group id: 4294967295 is (uid_t)-1, which setuid and chown take as "no change". */
export const ID_MAX = 4294967294;

/** False only for a number (all digits) above ID_MAX; names are checked elsewhere. */
export const idInRange = (s: string): boolean => !isNumber(s) || Number(s) <= ID_MAX;

/** Resolves `spec`; throws an invalid-definition error (svrun's exit 111) naming `where` (`web/user`) when it cannot. */
export const resolveIdentity = (spec: string, where: string): Identity => {
  const invalid = (why: string) => new SvError('svkit.invalid', EXIT_INVALID, `${where}: ${why}`);
  const [user = '', group] = spec.split(':');
  const pw = getent('passwd', user);
  if (!pw && !isNumber(user)) throw invalid(`unknown user ${quote(user)}`);
  if (!pw && !idInRange(user)) throw invalid(`user id ${user} out of range (0 to ${ID_MAX})`);
  const uid = pw ? Number(pw[2]) : Number(user);
  const name = pw ? pw[0]! : user;
  let gid = pw ? Number(pw[3]) : uid;
  if (group !== undefined) {
    const gr = getent('group', group);
    if (!gr && !isNumber(group)) throw invalid(`unknown group ${quote(group)}`);
    if (!gr && !idInRange(group)) throw invalid(`group id ${group} out of range (0 to ${ID_MAX})`);
    gid = gr ? Number(gr[2]) : Number(group);
  }
  let groups: number[] = [gid];
  if (pw) {
    const ids = spawnSync('id', ['-G', name], { encoding: 'utf8' });
    if (ids.status === 0) groups = [...new Set([gid, ...ids.stdout.trim().split(/\s+/).filter(isNumber).map(Number)])];
  }
  return { name, uid, gid, groups, home: pw?.[5] || '/' };
};

/** setpriv arguments that become `id` for good (real, effective and saved ids, and the groups). */
export const setprivIdentityArgs = (id: Identity): string[] => [
  `--reuid=${id.uid}`,
  `--regid=${id.gid}`,
  `--groups=${id.groups.join(',')}`,
];
