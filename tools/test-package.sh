#!/usr/bin/env bash
# Builds the Debian package from a build folder, installs it into a clean prefix (dpkg-deb -x)
# and checks the installed programs and desktop integration. Used by CTest.
#   tools/test-package.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { tail -30 "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/out/*.deb)
echo "package: $(basename "$deb")"
info=$(dpkg-deb --info "$deb")
grep -E "Package|Version|Depends|Recommends" <<<"$info"
grep -q "Depends:.*libtorch" <<<"$info" || { echo "no libtorch dependency computed"; exit 1; }
root="$work/root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/normout usr/bin/normout-lab usr/share/applications/io.github.normoutlab.NormOutLab.desktop \
         usr/share/metainfo/io.github.normoutlab.NormOutLab.metainfo.xml \
         usr/share/icons/hicolor/scalable/apps/io.github.normoutlab.NormOutLab.svg \
         usr/share/icons/hicolor/48x48/apps/io.github.normoutlab.NormOutLab.png \
         usr/share/man/man1/normout.1 usr/share/man/man1/normout-lab.1 \
         usr/share/bash-completion/completions/normout usr/share/doc/normout-lab/copyright \
         usr/share/doc/normout-lab/LICENSE usr/share/normout-lab/presets/quick.json; do
  [ -e "$root/$f" ] || { echo "missing from the package: $f"; exit 1; }
done
"$root/usr/bin/normout" --version
QT_QPA_PLATFORM=offscreen "$root/usr/bin/normout-lab" --version
"$root/usr/bin/normout" train --config "$root/usr/share/normout-lab/presets/quick.json" \
  --set model.width=0.0625 --set data.train_limit=256 --set data.test_limit=64 --max-steps 3 --quiet \
  --out "$work/installed-run.h5"
shown=$("$root/usr/bin/normout" info "$work/installed-run.h5")
grep -q "Status    stopped: step limit of 3 reached" <<<"$shown" || { echo "$shown"; exit 1; }
appstreamcli validate --no-net "$root/usr/share/metainfo/io.github.normoutlab.NormOutLab.metainfo.xml"
desktop-file-validate "$root/usr/share/applications/io.github.normoutlab.NormOutLab.desktop"
man -l "$root/usr/share/man/man1/normout.1" >/dev/null 2>&1 || true
bash -n "$root/usr/share/bash-completion/completions/normout"
echo "package OK"
