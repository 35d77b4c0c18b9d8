#!/bin/sh
# Build step (drivers/meson.build): copy the plugin SO into DIR (made 0700 if missing),
# replacing it atomically, and touch STAMP. Usage: copy-plugin.sh SO DIR STAMP
set -e
mkdir -p "$2"
chmod 700 "$2"
cp -f "$1" "$2/.$(basename "$1").tmp"
mv -f "$2/.$(basename "$1").tmp" "$2/$(basename "$1")"
touch "$3"
