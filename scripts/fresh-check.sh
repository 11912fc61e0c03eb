#!/usr/bin/env bash
# scripts/fresh-check.sh [COMMIT] -- the README's two set-up commands, exactly as
# written there, each on its own bare Debian 12 (debootstrap --variant=minbase:
# apt, dpkg and coreutils, nothing else), with the commit (default HEAD)
# cloned in.  Proves that scripts/setup.sh installs everything the main job and
# the test suite use.  Prints the main job's last line and the test summary;
# exits non-zero when either command fails.  Run as root (.ci/run runs it).
#
# The base system is cached as a tarball under $SAMC_FRESH_CACHE (default
# /var/cache/samc-fresh, outside the tree, so `git clean` keeps it); the roots
# live under /var/tmp and are removed on exit.  About 10 minutes on 2 cores,
# most of it apt installing packages and the main job training.
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse "${1:-HEAD}")
cache=${SAMC_FRESH_CACHE:-/var/cache/samc-fresh}
mirror=${SAMC_FRESH_MIRROR:-http://deb.debian.org/debian}
tarball=$cache/bookworm-minbase.tgz
roots=()

say() { echo "fresh-check: $*"; }

# The two commands: the README's indented lines that start with the set-up script.
mapfile -t cmds < <(sed -n 's/^    \(bash scripts\/setup\.sh && .*\)$/\1/p' "$repo/README.md")
[ ${#cmds[@]} -eq 2 ] || { say "expected 2 set-up commands in README.md, found ${#cmds[@]}"; exit 1; }

umount_root() { # every mount under $1, deepest first
    local r=$1 m
    for m in dev/shm dev/pts dev sys proc; do
        mountpoint -q "$r/$m" && umount -l "$r/$m"
    done
    return 0
}
cleanup() {
    local r
    for r in "${roots[@]}"; do umount_root "$r"; rm -rf --one-file-system "$r"; done
}
trap cleanup EXIT

ensure_tarball() {
    command -v debootstrap >/dev/null || {
        say "installing debootstrap"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    [ -s "$tarball" ] && return 0
    mkdir -p "$cache"
    local tmp; tmp=$(mktemp -d /var/tmp/samc-fresh-tar.XXXXXX)
    say "caching the base system in $tarball"
    debootstrap --variant=minbase --make-tarball="$tarball.part" bookworm "$tmp" "$mirror" >/dev/null
    mv "$tarball.part" "$tarball"; rm -rf "$tmp"
}

# make_root: a bare bookworm with this machine's apt sources and name server,
# the kernel file systems mounted, and the commit cloned to /root/samc.
make_root() {
    local r; r=$(mktemp -d /var/tmp/samc-fresh.XXXXXX)
    roots+=("$r")
    debootstrap --variant=minbase --unpack-tarball="$tarball" bookworm "$r" "$mirror" >/dev/null
    # the same package sources (and their apt settings) as a machine of this kind
    cp -a /etc/apt/sources.list.d/. "$r/etc/apt/sources.list.d/" 2>/dev/null || true
    [ -e /etc/apt/sources.list ] && cp /etc/apt/sources.list "$r/etc/apt/sources.list"
    find /etc/apt/apt.conf.d -name '99*' -exec cp {} "$r/etc/apt/apt.conf.d/" \;
    rm -f "$r"/etc/apt/sources.list.d/*.disabled*
    cp /etc/resolv.conf "$r/etc/resolv.conf"
    mount -t proc proc "$r/proc"
    mount -t sysfs sys "$r/sys"
    mount --bind /dev "$r/dev"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
    mount -t tmpfs -o mode=1777 shm "$r/dev/shm"
    git clone -q --no-hardlinks "$repo" "$r/root/samc"
    git -C "$r/root/samc" checkout -q "$commit"
    ROOT=$r
}

# run_in ROOT LOG COMMAND: the command in /root/samc under a login-like
# environment (nothing of this shell's), its output in LOG.
run_in() {
    chroot "$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "cd /root/samc && $3" >"$2" 2>&1
}

start=$SECONDS
ensure_tarball
say "testing commit ${commit:0:12}"
logs=$(mktemp -d)
rc_all=0
for i in 0 1; do
    make_root
    say "command $((i + 1)) in a bare root: ${cmds[$i]}"
    t0=$SECONDS
    if run_in "$ROOT" "$logs/$i.log" "${cmds[$i]}"; then rc=0; else rc=$?; fi
    if [ $i -eq 0 ]; then
        say "main job's last epoch: $(grep '^epoch .*test_acc' "$logs/$i.log" | tail -n1)"
        say "main job's last line: $(grep -v '^\s*$' "$logs/$i.log" | tail -n1)"
    else
        say "test summary: $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$i.log" | tail -n1)"
    fi
    say "command $((i + 1)) exit $rc in $((SECONDS - t0)) s"
    if [ $rc -ne 0 ]; then
        rc_all=1
        sed 's/^/fresh-check:   | /' "$logs/$i.log" | grep -v '^fresh-check:   | ok ' | tail -n 40
    fi
    umount_root "$ROOT"; rm -rf --one-file-system "$ROOT"; roots=()
done
rm -rf "$logs"
say "$([ $rc_all -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s"
exit $rc_all
