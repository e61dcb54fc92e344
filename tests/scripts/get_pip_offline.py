"""Stand-in for pip's get-pip.py bootstrap used by ansible-test.

ansible-test seeds each sanity virtualenv by running a cached get-pip script.
This one installs pip with the interpreter's own ``ensurepip`` and then passes
its arguments to ``pip install``, so packages still come from the configured
package index.
"""

import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
    args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    main()
