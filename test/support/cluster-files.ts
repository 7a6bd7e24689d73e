// heartbeat configuration directories used by the export, install and man-page tests: the README
// tutorial's files and more haresources shapes. authkeys is written mode 600 as heartbeat requires.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ClusterFiles {
  readonly haCf: string;
  readonly authkeys: string;
  readonly haresources: string;
}

const KEY = 'auth 1\n1 sha1 6b1bd1c5f4b0d7b3e3a7c1d2e5f6a7b8c9d0e1f2\n';

/** The README's two-node tutorial (heartbeat's classic example, with a real key). */
export const TUTORIAL: ClusterFiles = {
  haCf: 'logfile /var/log/ha-log\ndebugfile /var/log/ha-debug\nlogfacility local0\nkeepalive 2\ndeadtime 10\nbcast eth0\nauto_failback on\nnode node1\nnode node2\n',
  authkeys: KEY,
  haresources: 'node1 IPaddr::192.168.1.4 httpd smb\n',
};

/** Two groups, one per node; every IPaddr2 part; systemd units; a Filesystem; two links; failback off. */
export const TWO_GROUPS: ClusterFiles = {
  haCf: 'logfacility daemon\nkeepalive 500ms\ndeadtime 3\nwarntime 2\ninitdead 10\nbcast eth0\nucast eth1 198.18.1.2\nauto_failback off\nnode alpha beta\n',
  authkeys: KEY,
  haresources: 'alpha IPaddr2::198.18.0.10/24/eth0:web/198.18.0.255 Filesystem::/dev/sdb1::/srv/www::ext4 systemd::nginx.service\nbeta IPaddr2::198.18.0.11/24/eth0 systemd::postgresql\n',
};

/** Three nodes on multicast, a ping node, legacy failback; a bare IP, MailTo, IPv6addr, a continued line. */
export const THREE_NODES: ClusterFiles = {
  haCf: 'logfacility daemon\nkeepalive 1\ndeadtime 5\nmcast eth0 239.0.0.43 694 1 0\nping 198.18.0.1\nnode n1 n2 n3\nauto_failback legacy\n',
  authkeys: 'auth 2\n2 md5 an-md5-key-for-the-test\n',
  haresources: 'n1 198.18.0.20 MailTo::ops@example.com::failover\nn2 IPv6addr::2001:2::10/64/eth0 \\\n   apache2\nn3 IPaddr::198.18.0.21/255.255.255.0 exim4\n',
};

/** Lines Pacemaker cannot take as a group member (drbddisk, an init script with arguments) next to a good one. */
export const UNEXPORTABLE: ClusterFiles = {
  haCf: 'logfacility daemon\nbcast eth0\nauto_failback on\nnode node1 node2\n',
  authkeys: KEY,
  haresources: 'node1 drbddisk::r0 Filesystem::/dev/drbd0::/data::ext4 198.18.0.30\nnode2 198.18.0.31 myscript::arg\nnode1 198.18.0.32 httpd\n',
};

export function writeConfigDir(dir: string, files: ClusterFiles): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'ha.cf'), files.haCf);
  fs.writeFileSync(path.join(dir, 'authkeys'), files.authkeys, { mode: 0o600 });
  fs.chmodSync(path.join(dir, 'authkeys'), 0o600);
  fs.writeFileSync(path.join(dir, 'haresources'), files.haresources);
  return dir;
}
