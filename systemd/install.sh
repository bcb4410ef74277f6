#!/bin/sh
# Put vrrpd's systemd pieces in place after `npm install -g vrrpd-*.tgz`:
#   - the system user and group `vrrpd` (systemd-sysusers, from vrrpd.sysusers);
#   - /etc/systemd/system/vrrpd.service, with ExecStart/ExecStopPost pointing at this vrrpd;
#   - /etc/vrrpd/vrrpd.yaml (root:vrrpd 0640, it holds auth_pass), only when absent;
#   - `systemctl daemon-reload` when the unit changed and systemd is running.
# It neither enables nor starts the service: edit the config first (README "Migrating from
# keepalived"). Idempotent: a second run changes nothing and says "unchanged" for each step.
#
# Usage: install.sh [--root DIR] [--vrrpd PATH]
#   --root DIR    install into DIR instead of / (an image being built, or a test)
#   --vrrpd PATH  the vrrpd command to run (default: `command -v vrrpd`)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=/
vrrpd=

while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --vrrpd) vrrpd=${2:?--vrrpd needs a path}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "vrrpd install: $*"; }

[ "$(id -u)" = 0 ] || fail "run as root (it creates a user and writes to /etc)"
root=${root%/}
[ -z "$root" ] || [ -d "$root" ] || fail "--root $root is not a directory"

if [ -z "$vrrpd" ]; then
  vrrpd=$(command -v vrrpd || true)
  [ -n "$vrrpd" ] || fail "vrrpd is not on PATH; install the package first (npm install -g ./vrrpd-*.tgz) or pass --vrrpd PATH"
fi
case "$vrrpd" in /*) ;; *) fail "--vrrpd must be an absolute path, got '$vrrpd'" ;; esac
case "$vrrpd" in *[!A-Za-z0-9/._+-]*) fail "refusing an unusual character in the path '$vrrpd'" ;; esac
[ -x "$vrrpd" ] || fail "$vrrpd is not executable"
# npm links bin/vrrpd to lib/node_modules/vrrpd/dist/cli/main.js; the README sits three levels up.
package_dir=$(cd "$(dirname "$(readlink -f "$vrrpd")")/../.." && pwd)
# The unit has ProtectHome=yes: a vrrpd (or a node, e.g. from nvm) under /root or /home is
# invisible to the service and it would fail with 203/EXEC or "env: node: No such file".
case "$(readlink -f "$vrrpd")" in /root/*|/home/*) fail "$vrrpd lives under /root or /home, which the service cannot see (ProtectHome=yes); install node and vrrpd system-wide" ;; esac
# vrrpd starts with `#!/usr/bin/env node`, and systemd's PATH is fixed; node must be on it.
node_path=$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v node || true)
[ -n "$node_path" ] || fail "node is not in /usr/local/bin, /usr/bin or /bin, where systemd's PATH finds it"
case "$(readlink -f "$node_path")" in /root/*|/home/*) fail "$node_path resolves under /root or /home, which the service cannot see (ProtectHome=yes)" ;; esac

# 1. User and group. systemd-sysusers is idempotent and understands --root.
sysusers_dir="$root/usr/local/lib/sysusers.d"
mkdir -p "$sysusers_dir"
if cmp -s "$here/vrrpd.sysusers" "$sysusers_dir/vrrpd.conf"; then
  say "unchanged: $sysusers_dir/vrrpd.conf"
else
  install -m 0644 "$here/vrrpd.sysusers" "$sysusers_dir/vrrpd.conf"
  say "installed $sysusers_dir/vrrpd.conf"
fi
if grep -q '^vrrpd:' "$root/etc/passwd" 2>/dev/null; then
  say "unchanged: user vrrpd exists"
else
  systemd-sysusers --root="${root:-/}" "$sysusers_dir/vrrpd.conf"
  say "created user and group vrrpd"
fi
# Numeric gid from the target's /etc/group: chown by name would ask the host's, not $root's.
gid=$(awk -F: '$1 == "vrrpd" { print $3 }' "$root/etc/group")
[ -n "$gid" ] || fail "group vrrpd missing from $root/etc/group after systemd-sysusers"

# 2. The unit, pointing at this vrrpd.
unit_dir="$root/etc/systemd/system"
mkdir -p "$unit_dir"
rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
sed -e "s#/usr/local/bin/vrrpd #$vrrpd #g" -e "s#file:///usr/lib/node_modules/vrrpd/#file://$package_dir/#" "$here/vrrpd.service" > "$rendered"
unit_changed=no
if cmp -s "$rendered" "$unit_dir/vrrpd.service"; then
  say "unchanged: $unit_dir/vrrpd.service"
else
  install -m 0644 "$rendered" "$unit_dir/vrrpd.service"
  unit_changed=yes
  say "installed $unit_dir/vrrpd.service (ExecStart=$vrrpd run --config /etc/vrrpd/vrrpd.yaml --state-dir /var/lib/vrrpd)"
fi

# 3. Default configuration, never overwriting one that is there.
conf_dir="$root/etc/vrrpd"
if [ -d "$conf_dir" ]; then
  say "unchanged: $conf_dir exists"
else
  install -d -m 0750 -o 0 -g "$gid" "$conf_dir"
  say "created $conf_dir (root:vrrpd 0750)"
fi
if [ -e "$conf_dir/vrrpd.yaml" ]; then
  say "unchanged: $conf_dir/vrrpd.yaml exists, left as it is"
else
  install -m 0640 -o 0 -g "$gid" "$here/vrrpd.yaml" "$conf_dir/vrrpd.yaml"
  say "installed the default $conf_dir/vrrpd.yaml (root:vrrpd 0640): edit it for this node"
fi

# 4. Tell a running systemd about the new unit.
if [ "$unit_changed" = yes ] && [ -d "$root/run/systemd/system" ]; then
  systemctl daemon-reload
  say "systemctl daemon-reload"
elif [ "$unit_changed" = yes ]; then
  say "systemd is not running under ${root:-/}: no daemon-reload"
fi

say "next: edit /etc/vrrpd/vrrpd.yaml, run \`vrrpd check-config /etc/vrrpd/vrrpd.yaml\`, then \`systemctl enable --now vrrpd\`"
