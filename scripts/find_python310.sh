#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 needs it): PATH first, then pyenv's
# versions folder. Exits 1 with a hint when there is none.
set -euo pipefail
for candidate in python3.10 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/"3.10.*/bin/python3.10 \
                 "$HOME/.pyenv/versions/"3.10.*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
echo "Python 3.10 not found. Rasa 3.6 needs it: install it with 'pyenv install 3.10' or your system's python3.10 package (with venv)." >&2
exit 1
