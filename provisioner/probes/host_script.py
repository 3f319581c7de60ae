"""The facts probe's one read-only POSIX sh script.

Every line it prints after the mark is `KEY=value`: a value never holds a newline,
since each line a source prints is given its key (`many`), or only a first line is
kept (`one`). So what a host holds (an environment variable, a mount point) cannot
pose as another key's line. Each source is bounded in lines and each line in bytes;
a missing tool or file prints nothing for its key. No DNS query, no packet: `ip route
get` only consults the routing table.
"""

from __future__ import annotations

MARK = "@@facts@@"
LINE_BYTES = 65537  # one more than the parser keeps: a cut line is seen to be too long

# Ansible asks the route to these addresses: the same route is the default.
ROUTE4 = "8.8.8.8"
ROUTE6 = "2404:6800:400a:800::1012"

# Paths whose existence decides pkg_mgr, service_mgr and apparmor.
EXISTS = (
    "/usr/bin/dnf",
    "/usr/bin/microdnf",
    "/usr/bin/yum",
    "/run/ostree-booted",
    "/run/systemd/system",
    "/sbin/openrc",
    "/etc/init.d",
    "/sys/kernel/security/apparmor",
)

_HELPERS = f"""LC_ALL=C; export LC_ALL
if command -v cut >/dev/null 2>&1; then clip() {{ cut -c 1-{LINE_BYTES}; }}
else clip() {{ cat; }}; fi
one() {{ _k=$1; shift; _v=$("$@" 2>/dev/null </dev/null | head -n 1 | clip)
  if [ -n "$_v" ]; then printf '%s=%s\\n' "$_k" "$_v"; fi; }}
many() {{ _k=$1; _n=$2; shift 2
  {{ "$@" </dev/null; echo; }} 2>/dev/null | head -n "$_n" | clip | sed -n "/./s/^/$_k=/p"; }}
rd() {{ _r=''; {{ read -r _r <"$1"; }} 2>/dev/null; }}
echo '{MARK}'
"""

_OS = """for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then
    { cat "$f"; echo; } | head -n 200 | clip | sed -n 's/^\\([A-Z_][A-Z0-9_]*\\)=/os_\\1=/p'; break
  fi
done
one redhat_release cat /etc/redhat-release
one debian_version cat /etc/debian_version
one system uname -s
one kernel uname -r
one kernel_version uname -v
one arch uname -m
one hostname uname -n
one long_bit getconf LONG_BIT
_n=$(uname -n 2>/dev/null)
if [ -n "$_n" ]; then many etc_hosts 20 grep -F -w -e "$_n" /etc/hosts; fi
for pm in dnf yum apt-get zypper apk; do
  if command -v "$pm" >/dev/null 2>&1; then printf 'pkg_mgr=%s\\n' "$pm"; break; fi
done
"""

_EXISTS = f"""for p in {" ".join(EXISTS)}; do
  if [ -e "$p" ]; then printf 'exists=%s\\n' "$p"; fi
done
one dnf_target readlink -f /usr/bin/dnf
one init cat /proc/1/comm
one sbin_init readlink /sbin/init
"""

_SECURITY = """one selinux_enforce cat /sys/fs/selinux/enforce
one selinux_policyvers cat /sys/fs/selinux/policyvers
if [ -r /etc/selinux/config ]; then
  { cat /etc/selinux/config; echo; } | head -n 200 | clip |
    sed -n -e 's/^SELINUX=\\(.*\\)/selinux_config=\\1/p' \\
      -e 's/^SELINUXTYPE=\\(.*\\)/selinux_type=\\1/p'
fi
one fips cat /proc/sys/crypto/fips_enabled
"""

_MEMINFO = "MemTotal|MemFree|SwapTotal|SwapFree|Buffers|Cached|SwapCached"
_CPUINFO = (
    "processor|vendor_id|model name|physical id|core id|cpu cores|siblings|Processor|cpu|Vendor"
)
_HARDWARE = f"""many meminfo 50 grep -E '^({_MEMINFO}):' /proc/meminfo
many cpuinfo 20000 grep -E '^({_CPUINFO})[[:space:]]*:' /proc/cpuinfo
one nproc nproc
one virt systemd-detect-virt
one uptime cat /proc/uptime
one loadavg cat /proc/loadavg
many mount 2000 cat /proc/mounts
for f in /var/lib/dbus/machine-id /etc/machine-id; do
  if [ -s "$f" ]; then one machine_id cat "$f"; break; fi
done
one cmdline cat /proc/cmdline
"""

# Interface lines: MTU/TYPE/OPERSTATE/MAC/NAME; a name holds no `/`, so it goes last.
_NETWORK = f"""if command -v ip >/dev/null 2>&1; then
  echo 'have_ip=1'
  one route4 ip -4 route get {ROUTE4}
  one route6 ip -6 route get {ROUTE6}
  many addr 2000 ip -o addr show
fi
_i=0
for d in /sys/class/net/*; do
  [ -d "$d" ] || continue
  _i=$((_i + 1)); [ "$_i" -le 512 ] || break
  rd "$d/mtu"; _mtu=$_r; rd "$d/type"; _type=$_r; rd "$d/operstate"; _op=$_r; rd "$d/address"
  if [ -d "$d/bridge" ]; then _type=bridge; elif [ -d "$d/bonding" ]; then _type=bonding; fi
  printf 'iface=%s/%s/%s/%s/%s\\n' "$_mtu" "$_type" "$_op" "$_r" "${{d##*/}}"
done
many resolv 100 grep -E '^[[:space:]]*(nameserver|search|domain|options|sortlist)[[:space:]]' \\
  /etc/resolv.conf
"""

# The environment NUL-separated where `env -0` exists: newlines in values travel as \\001.
_USER = """_u=$(id -un 2>/dev/null)
if [ -n "$_u" ]; then printf 'user_id=%s\\n' "$_u"; fi
one uid id -u
one real_uid id -ru
one gid id -g
one real_gid id -rg
if command -v getent >/dev/null 2>&1; then
  if [ -n "$_u" ]; then one passwd getent passwd "$_u"; fi
else
  _uid=$(id -u 2>/dev/null)
  case $_uid in ''|*[!0-9]*) ;; *) one passwd sed -n "/^[^:]*:[^:]*:$_uid:/p" /etc/passwd ;; esac
fi
if command -v tr >/dev/null 2>&1 && env -0 >/dev/null 2>&1; then
  env -0 2>/dev/null | tr '\\n\\000' '\\001\\n' | head -n 1000 | clip | sed -n '/./s/^/env0=/p'
else
  many env 1000 env
fi
"""

_DATE = """one date date '+%Y %m %d %H %M %S %s %N %w %W %A %Z %z'
_y=$(date +%Y 2>/dev/null)
one tz_jan date -d "$_y-01-01" '+%Z %z'
one tz_jul date -d "$_y-07-01" '+%Z %z'
true
"""

SCRIPT = _HELPERS + _OS + _EXISTS + _SECURITY + _HARDWARE + _NETWORK + _USER + _DATE
