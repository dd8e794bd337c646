"""A `semper run` (the embedded default) of its own for the live tests: a temporary data directory,
loopback ports the system picks, an operator token, stopped by PID."""

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import tomllib

#: The longest the node may take to start or stop, seconds.
WAIT_S = 60


class RunningNode:
    """A node someone else started: its HTTP address, data directory and operator token."""

    fresh = False

    def __init__(self, base, data, token):
        self.base, self.data, self.token = base, data, token

    def card(self, bank):
        """A bank's public card (`<data>/<bank>/card.toml`): the keys a wallet pins out of band."""
        with open(os.path.join(self.data, bank, "card.toml"), "rb") as file:
            return tomllib.load(file)

    def stop(self):
        """Not ours to stop."""


class NodeProcess(RunningNode):
    """Starts `binary run` with the embedded default in a temporary directory."""

    fresh = True

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="semper-wallet-")
        self.data = os.path.join(self.dir, "data")
        self.token = secrets.token_hex(24)
        env = dict(os.environ, RUST_LOG="warn",
                   SEMPER__NODE__DATA_DIR=self.data,
                   SEMPER__HTTP__LISTEN="127.0.0.1:0",
                   SEMPER__HTTP__OPERATOR_TOKEN=self.token,
                   # The test settles by hand: no timed submissions or cycle cuts under it.
                   SEMPER__BANKS__1__ACQUIRER__SUBMIT_INTERVAL_MS="3600000",
                   SEMPER__BANKS__2__CLEARING__CYCLE_MAX_MS="3600000",
                   **{f"SEMPER__BANKS__{bank}__LINK_LISTEN": "127.0.0.1:0" for bank in range(3)})
        self.process = subprocess.Popen([binary, "run"], cwd=self.dir, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, text=True)
        self.output = []
        self.base = None
        found = threading.Event()

        def read():
            for line in self.process.stdout:
                self.output.append(line.rstrip("\n"))
                if "HTTP API:" in line and not found.is_set():
                    self.base = next((w for w in line.split() if "://" in w), None)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(WAIT_S) or self.base is None:
            self.stop()
            raise RuntimeError("semper never printed its HTTP address:\n" + "\n".join(self.output))

    def stop(self):
        """SIGTERM, then SIGKILL after WAIT_S, by PID; removes the directory."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
