#!/usr/bin/env python3
"""Fetches pinned third-party MicroPython libraries from the Python package
index pip is configured with, checks their SHA-256 and unpacks their Python
files into DEST (one directory per library, ready for sys.path).

    fetch-pypi.py DEST

Old micropython-* packages are sdists without setup.py or pyproject.toml, so
`pip download` cannot fetch them (it insists on building their metadata):
this reads the index's simple page (PEP 503) itself. The index is the one
pip uses: PIP_INDEX_URL, else pip's configuration, else pip's default.
"""
import hashlib
import html.parser
import io
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile

# (project, file, SHA-256, directory in DEST)
LIBRARIES = [
    ("micropython-umqtt.simple", "micropython-umqtt.simple-1.3.4.tar.gz",
     "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f", "umqtt.simple"),
    ("micropython-urequests", "micropython-urequests-0.9.1.tar.gz",
     "15ed0132bcff1a84e87049d9d7780ce26df0810fa674aa89d187e17493d6e3c5", "urequests"),
    ("microdot", "microdot-2.7.0-py3-none-any.whl",
     "1e9b7b825372e1ba8ebd4c59b6180e15c71f4b5200ec4bcbf8c9f9b5652db379", "microdot"),
    ("micropython-umqtt.robust", "micropython-umqtt.robust-1.0.tar.gz",
     "22a1b8c8e1128281efb13b3020927d07e33c5b747869da2cd77d37983a9ea002", "umqtt.robust"),
    ("micropython-async-websocket-client", "micropython_async_websocket_client-0.3.4-py3-none-any.whl",
     "9fac6cd254779e38242dc4977f49bc4bf06a2e73e497976d4dd8dd87684d85bd", "async_websocket_client"),
    ("micropython-umqtt.simple2", "micropython-umqtt.simple2-2.2.0.tar.gz",
     "48fd4da7701b95986293b06d343fbc564ebe7dfa82f5c8c09364c20df755f0e4", "umqtt.simple2"),
    ("micropython-mdns", "micropython_mdns-1.8.0.tar.gz",
     "ebdae77acebebf05a409074bc365f20de4ea40f9ebb19ed76904d3f3d4728866", "micropython-mdns"),
    ("micropython-socket", "micropython-socket-0.5.3.tar.gz",
     "c9fa8b2c45ab9523545384218a3aec7bf305b77fef96ecc4517b94760b44d795", "micropython-socket"),
    ("micropython-phew", "micropython-phew-0.0.3.tar.gz",
     "ac2740e5f5b1cb26b6717846352c29d01717a13eef70c54a6a0e9c962cc99e24", "phew"),
    ("micropython-urllib.urequest", "micropython-urllib.urequest-0.6.3.tar.gz",
     "69e24791c40f3a0a93565c71d38470488c8ffecb27261ad08e0a83fdd79d1808", "urllib.urequest"),
]


def index_url():
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.index-url"],
                             capture_output=True, text=True)
        url = out.stdout.strip() if out.returncode == 0 else ""
    if not url:
        try:
            from pip._internal.models.index import PyPI  # pip's own default
        except ImportError:
            sys.exit("error: pip is missing (Debian: apt-get install python3-pip), "
                     "or set PIP_INDEX_URL to the package index to use")
        url = PyPI.simple_url
    return url.rstrip("/") + "/"


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = {}
        self._href = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data):
        if self._href:
            self.links[data.strip()] = self._href
            self._href = None


def normalise(project):
    return "".join("-" if c in "._" else c for c in project.lower())


def fetch(index, project, filename, sha256):
    page_url = urllib.parse.urljoin(index, normalise(project) + "/")
    with urllib.request.urlopen(page_url, timeout=60) as r:
        parser = Links()
        parser.feed(r.read().decode())
    href = parser.links.get(filename)
    if href is None:
        sys.exit("error: %s is not on the package index (%s)" % (filename, page_url))
    with urllib.request.urlopen(urllib.parse.urljoin(page_url, href), timeout=120) as r:
        data = r.read()
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        sys.exit("error: %s has SHA-256 %s, pinned %s" % (filename, got, sha256))
    return data


def unpack(data, filename, dest):
    """Only the .py files, without the packaging around them."""
    if filename.endswith(".whl"):
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [(n, lambda n=n: archive.read(n)) for n in archive.namelist()]
    else:
        archive = tarfile.open(fileobj=io.BytesIO(data))
        members = [(m.name.split("/", 1)[1], lambda m=m: archive.extractfile(m).read())
                   for m in archive.getmembers() if m.isfile() and "/" in m.name]
    for name, read in members:
        if not name.endswith(".py") or name == "setup.py" or ".." in name.split("/"):
            continue
        path = os.path.join(dest, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(read())


def main():
    dest = sys.argv[1]
    index = None
    for project, filename, sha256, subdir in LIBRARIES:
        target = os.path.join(dest, subdir)
        stamp = os.path.join(target, ".fetched")
        if os.path.exists(stamp) and open(stamp).read() == sha256:
            continue
        index = index or index_url()
        print("fetching", filename)
        data = fetch(index, project, filename, sha256)
        shutil.rmtree(target, ignore_errors=True)
        unpack(data, filename, target)
        with open(stamp, "w") as f:
            f.write(sha256)


if __name__ == "__main__":
    main()
