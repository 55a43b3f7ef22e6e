#!/usr/bin/env bash
# What the platform needs from the machine beyond Node.js and npm, installed when missing.
#   start: Java 17+ (DynamoDB Local runs on it)
#   test:  Java, plus Chromium and CJK fonts (browser tests; screenshots show Chinese, not empty boxes)
# On Debian/Ubuntu as root it installs them through apt; anywhere else it stops with the exact command to run.
# Used by `npm start` (prestart), `npm test` (pretest) and .ci/run, so the three never disagree.
set -euo pipefail

want=${1:-start}
case "$want" in start | test) ;; *)
  echo "usage: $0 start|test" >&2
  exit 2
  ;;
esac

missing=()
java_major() { java -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p'; }
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
  missing+=(openjdk-17-jre-headless)
fi
if [ "$want" = test ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family | grep -qi 'noto'; }; then
    missing+=(fonts-noto-cjk)
  fi
fi
[ ${#missing[@]} -eq 0 ] && exit 0

command="apt-get update && apt-get install -y ${missing[*]}"
if [ -r /etc/os-release ] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "envwatch: installing from Debian: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
  fi
  echo "envwatch: missing ${missing[*]}. Install them with:" >&2
  echo "  sudo sh -c '$command'" >&2
  exit 1
fi
echo "envwatch: missing ${missing[*]} (needed for npm $want)." >&2
echo "  On Debian/Ubuntu: sudo sh -c '$command'" >&2
echo "  Elsewhere: install a Java 17+ runtime (e.g. Temurin 17)$([ "$want" = test ] && echo ', Chromium at /usr/bin/chromium and a Noto CJK font')." >&2
exit 1
