#!/usr/bin/env bash
# Spark's tests need a Java runtime (17 or newer for pyspark 4): install a
# headless JRE from the distribution when `java` is missing. Debian/Ubuntu only;
# elsewhere install one by hand (the Spark tests skip without it).
set -euo pipefail
if command -v java >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-java: no java and no apt-get; the Spark tests will be skipped" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
# The newest headless JRE the distribution has (Debian 12: 17; newer: 21).
package=$(apt-cache search --names-only '^openjdk-[0-9]+-jre-headless$' | awk '{print $1}' \
  | sort -t- -k2 -n | tail -1)
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$package"
java -version
