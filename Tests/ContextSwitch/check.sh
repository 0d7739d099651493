#!/usr/bin/env bash
# Builds switch_check.c against the real context switch in
# Sources/CGoroutines and runs it: natively for this machine's architecture,
# and for the other one (arm64 on an x86_64 machine, x86_64 on an arm64 one)
# under qemu user-mode emulation. Each architecture is built twice, with the
# switch assembled by GCC and by clang (the Swift toolchain's, if present),
# and each binary is also checked for a non-executable stack.
#
# Installs the Debian packages it needs when they are missing (as root, with
# apt-get). Prints PASS or FAIL last; exits nonzero on any failure.
#
#   Tests/ContextSwitch/check.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
src=$root/Sources/CGoroutines
work=$(mktemp -d "${TMPDIR:-/tmp}/switch-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=()
passed=()

note() { printf '== %s\n' "$*"; }

host=$(uname -m)
case $host in
  x86_64) other=arm64; other_triple=aarch64-linux-gnu; other_qemu=qemu-aarch64
          other_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
          native=x86_64 ;;
  aarch64|arm64) other=x86_64; other_triple=x86_64-linux-gnu; other_qemu=qemu-x86_64
          other_pkgs="gcc-x86-64-linux-gnu libc6-dev-amd64-cross"
          native=arm64 ;;
  *) echo "FAIL: no context switch for host architecture $host"; exit 1 ;;
esac

# Packages: a compiler for this machine, a cross compiler and C library for
# the other architecture, qemu for running it, binutils for readelf.
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v readelf >/dev/null || need+=(binutils)
command -v "$other_triple-gcc" >/dev/null || need+=($other_pkgs)
command -v "$other_qemu" >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    note "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq "${need[@]}"; } \
        >"$work/apt.log" 2>&1; then
      tail -20 "$work/apt.log"
      echo "FAIL: could not install ${need[*]}"
      exit 1
    fi
  else
    echo "FAIL: missing ${need[*]} (run as root with apt-get to install them)"
    exit 1
  fi
fi

clang=
for c in /opt/swift/usr/bin/clang "$(command -v clang 2>/dev/null)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then clang=$c; break; fi
done

cflags=(-O2 -g -Wall -Wextra -I"$src/include")

# build_and_run ARCH CC RUNNER... : builds the check for ARCH with CC (GCC
# and, if found, clang assembling the switch) and runs it with RUNNER.
build_and_run() {
  local arch=$1 cc=$2; shift 2
  local runner=("$@") triple switch_src
  case $arch in
    arm64) triple=aarch64-linux-gnu; switch_src=$src/switch_arm64.S ;;
    x86_64) triple=x86_64-linux-gnu; switch_src=$src/switch_x86_64.S ;;
  esac
  local assemblers=(gcc)
  [ -n "$clang" ] && assemblers+=(clang)
  for as in "${assemblers[@]}"; do
    local name="$arch, switch assembled by $as${runner[0]:+, under ${runner[0]}}"
    local d=$work/$arch-$as
    mkdir -p "$d"
    note "$name"
    local ok=1
    if [ "$as" = clang ]; then
      "$clang" --target="$triple" -c "$switch_src" -o "$d/switch.o" || ok=0
    else
      "$cc" -c "$switch_src" -o "$d/switch.o" || ok=0
    fi
    if [ $ok = 1 ]; then
      "$cc" "${cflags[@]}" -c "$here/switch_check.c" -o "$d/check.o" &&
        "$cc" -c "$here/switch_probe.S" -o "$d/probe.o" &&
        "$cc" -static -o "$d/switch_check" "$d/check.o" "$d/probe.o" \
          "$d/switch.o" -lm || ok=0
    fi
    if [ $ok = 0 ]; then
      echo "  build failed"
      failed+=("$name: build"); continue
    fi
    # The switch object must say its stack is not executable, and must have
    # unwind entries for gr_switch, gr_trampoline and gr_prepare_stack.
    if ! readelf -SW "$d/switch.o" | grep -q '\.note\.GNU-stack'; then
      echo "  switch object has no .note.GNU-stack section"
      failed+=("$name: .note.GNU-stack"); continue
    fi
    local stack_flags
    stack_flags=$(readelf -lW "$d/switch_check" | awk '$1 == "GNU_STACK" {print $(NF-1)}')
    if [ "$stack_flags" != RW ]; then
      echo "  linked program's stack is '$stack_flags', not RW"
      failed+=("$name: executable stack"); continue
    fi
    local fdes
    fdes=$(readelf --debug-dump=frames "$d/switch.o" 2>/dev/null | grep -c ' FDE ')
    if [ "$fdes" != 3 ]; then
      echo "  switch object has $fdes FDEs, expected 3"
      failed+=("$name: unwind entries"); continue
    fi
    echo "  .note.GNU-stack present, stack RW, 3 FDEs"
    if timeout 120 "${runner[@]}" "$d/switch_check"; then
      passed+=("$name")
    else
      failed+=("$name: run")
    fi
  done
}

build_and_run "$native" cc
build_and_run "$other" "$other_triple-gcc" "$other_qemu"

echo
for p in "${passed[@]}"; do echo "  ok:     $p"; done
for f in "${failed[@]}"; do echo "  FAILED: $f"; done
if [ ${#failed[@]} -gt 0 ] || [ ${#passed[@]} -eq 0 ]; then
  echo "FAIL: context switch check"
  exit 1
fi
echo "PASS: context switch check (${#passed[@]} builds: $native native, $other under $other_qemu)"
