#!/usr/bin/env bash
# Builds the Debian package from a staged `make install DESTDIR=... PREFIX=/usr`
# tree with dpkg-deb (no debhelper needed).
#   scripts/deb.sh STAGE_DIR VERSION OUT_DIR
# Depends: the Debian packages that own the shared libraries the binary links
# directly (NEEDED entries, located with ldd, owners from dpkg -S), plus
# adduser for the maintainer scripts.
set -euo pipefail

stage=$1 version=$2 out=$3
bin="$stage/usr/bin/orchestrator"
[ -x "$bin" ] || { echo "deb: '$bin' not found (stage with PREFIX=/usr)" >&2; exit 1; }

arch=$(dpkg --print-architecture)
deps=()
while read -r lib; do
  pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1) || true
  if [ -z "$pkg" ]; then # merged /usr: the library may be registered under /lib
    pkg=$(dpkg -S "${lib#/usr}" 2>/dev/null | head -n1 | cut -d: -f1) || true
  fi
  [ -n "$pkg" ] && deps+=("$pkg")
done < <(for so in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
  ldd "$bin" | awk -v so="$so" '$1 == so && $3 ~ /^\// {print $3}'
done | xargs -r readlink -f)
depends=$(printf '%s\n' "${deps[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

# The data and log directories are made by postinst (owned by the service
# user) and removed on purge, so they are not shipped.
rm -rf "$stage/var"
mkdir -p "$stage/DEBIAN" "$stage/usr/share/doc/orchestrator"
for f in postinst prerm postrm conffiles; do
  install -m "$([ "$f" = conffiles ] && echo 0644 || echo 0755)" \
    "packaging/debian/$f" "$stage/DEBIAN/$f"
done
install -m 0644 README.md docs/*.md "$stage/usr/share/doc/orchestrator/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
  -e "s/@SIZE@/$size/" packaging/debian/control.in >"$stage/DEBIAN/control"
mkdir -p "$out"
deb="$out/orchestrator_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
