#!/bin/sh
# c-string.sh NAME < file > file.c - turns a text file into `const char NAME[]` (C string literal).
set -eu
name=$1
printf '/* generated from a data file by tests/tools/c-string.sh; do not edit */\n'
printf 'const char %s[] =\n' "$name"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/\\n"/'
printf ';\n'
