"""`remote host` and `remote join` in subprocesses over a real relay: the practitioner's states and cues,
the cue on the client's side, logging in to a relay (token, user and password, TLS with a clinic's CA)
and the level the practitioner asks for."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from pathlib import Path

from process_lines import LinePrinter
from remote_cli import WAIT_S, Finished, host_and_join, remote_command

from somafeedback.devices.events import TimelineEvent
from somafeedback.remote.consent import CONSENT_EVENT
from somafeedback.remote.downlink import REMOTE_CUE_EVENT
from somafeedback.remote.relay import LocalRelay, RelayConfig
from somafeedback.sessions.file import read_session

# a plain heart-rate strap (little data) whose activation gets a grounding suggestion ~452 s into the
# session (about 9 s of real time at 50x); the client streams on (up to an hour of session time) until the
# test has seen the cue arrive, then the practitioner ends the session
ACTIVATION = ("--simulate", "sustained-activation", "--simulated-strap", "hr", "--speed", "50", "--duration", "3600")
SHORT = ("--simulate", "calm", "--simulated-strap", "hr", "--speed", "max", "--duration", "5")
EXIT_SIGTERM = 128 + 15  # the practitioner's command stopped by SIGTERM (it tells the client first)


def _records(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_the_host_shows_states_and_delivers_the_cue_the_client_sees_and_both_record(relay: LocalRelay,
                                                                                     tmp_path: Path) -> None:
    hosting = LinePrinter(remote_command("host", "--relay", relay.url, "--json", "--auto-approve",
                                         "--recordings", str(tmp_path / "host")))
    joining: LinePrinter | None = None
    try:
        line = hosting.wait_for(lambda text: '"code"' in text, WAIT_S)
        assert line is not None, hosting.finish(5)
        joining = LinePrinter(remote_command("join", json.loads(line)["code"], "--relay", relay.url, *ACTIVATION,
                                             "--json", "--recordings", str(tmp_path / "client")))
        seen = joining.wait_for(lambda text: '"remote-cue"' in text, 4 * WAIT_S)
        assert seen is not None, joining.finish(5)
        hosting.process.terminate()  # the practitioner ends the session: the client is told
        hosted = Finished(*hosting.finish(4 * WAIT_S))
        joined = Finished(*joining.finish(4 * WAIT_S))
    finally:
        for process in (hosting, joining):
            if process is not None and process.process.poll() is None:
                process.process.kill()
    assert hosted.code == EXIT_SIGTERM, hosted.err
    assert joined.code == 0, joined.err
    host = _records(hosted.lines)
    states = [r["state"] for r in host if r["type"] == "state"]
    assert states[:2] == ["calibrating", "in band"] and "above band" in states
    assert any(r["type"] == "baseline" for r in host)
    delivered = [r for r in host if r["type"] == "cue" and r["action"] == "delivered"]
    assert delivered and delivered[0]["exercise"] == "feet-and-seat-grounding"
    assert host[-1]["type"] == "saved" and host[-1]["sent_down"] >= 1
    client = _records(joined.lines)
    assert client[-1]["type"] == "ended" and "practitioner ended" in client[-1]["reason"]
    cues = [r for r in client if r["type"] == "remote-cue"]
    assert cues and cues[0]["action"] == "show" and cues[0]["exercise"] == "feet-and-seat-grounding"
    assert cues[0]["text"].startswith("from your practitioner: Feet and seat grounding")
    host_cues = [e for e in read_session(host[-1]["path"]).events if isinstance(e, TimelineEvent) and e.kind == "cue"]
    assert any(e.data["action"] == "delivered" for e in host_cues)
    received = [e for e in read_session(client[-1]["saved"]).events
                if isinstance(e, TimelineEvent) and e.kind == REMOTE_CUE_EVENT]
    assert received and received[0].data["received"] and received[0].data["exercise"] == "feet-and-seat-grounding"


def _host_connects(url: str, folder: Path, *login: str) -> tuple[int, str]:
    """`remote host` with ``login``: (0, "") once it shows a code (it reached the relay), else its exit code
    and stderr."""
    host = LinePrinter(remote_command("host", "--relay", url, "--json", "--recordings", str(folder), *login))
    line = host.wait_for(lambda text: '"code"' in text, WAIT_S)
    if line is not None:
        host.process.terminate()
        host.finish(WAIT_S)
        return 0, ""
    code, _lines, err = host.finish(WAIT_S)
    return code, err


def test_a_token_login_joins_and_the_client_shares_what_the_practitioner_asks_for(tmp_path: Path) -> None:
    with LocalRelay(RelayConfig(store=tmp_path / "store", token="t0ken-abc")) as relay:
        hosted, joined = host_and_join(relay.url, tmp_path, *SHORT, "--relay-token", "t0ken-abc", "--json",
                                       host_args=("--relay-token", "t0ken-abc", "--ask", "beats"))
        assert hosted.code == 0, hosted.err
        assert joined.code == 0, joined.err
        consent = next(r for r in _records(joined.lines) if r["type"] == "consent")
        assert consent["level"] == "beats" and consent["asked"] == "beats"
        saved = _records(hosted.lines)[-1]
        assert saved["sharing"] == "beats" and saved["confirmed"]
        code, err = _host_connects(relay.url, tmp_path / "wrong", "--relay-token", "wrong")
        assert code == 4 and "did not accept the login" in err and "Traceback" not in err and "wrong" not in err


def test_the_client_chooses_less_than_asked_and_both_records_say_so(relay: LocalRelay, tmp_path: Path) -> None:
    hosted, joined = host_and_join(relay.url, tmp_path, *SHORT, "--share", "beats", host_args=("--ask", "raw"))
    assert hosted.code == 0, hosted.err
    assert joined.code == 0, joined.err
    assert "your practitioner asks for: Everything your strap records" in "\n".join(joined.lines)
    saved = json.loads(hosted.lines[-1])
    changes = [e.data for e in read_session(saved["path"]).events if isinstance(e, TimelineEvent) and e.kind == CONSENT_EVENT]
    assert [(c["change"], c["requested"], c["level"]) for c in changes] == [("chose", "raw", "beats"), ("confirmed", "raw", "beats")]


def test_a_user_and_password_login_and_a_wrong_password(tmp_path: Path) -> None:
    with LocalRelay(RelayConfig(store=tmp_path / "store", user="soma", password="s3cret-pw")) as relay:
        assert _host_connects(relay.url, tmp_path / "a", "--relay-user", "soma", "--relay-password", "s3cret-pw") == (0, "")
        code, err = _host_connects(relay.url, tmp_path / "b", "--relay-user", "soma", "--relay-password", "nope")
        assert code == 4 and "did not accept the login" in err and "Traceback" not in err and err.count("\n") == 1
        code, err = _host_connects(relay.url, tmp_path / "c", "--relay-user", "soma")
        assert code != 0 and "needs a password" in err


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A clinic's own CA and a certificate it signed for 127.0.0.1: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clinic test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_a_relay_with_the_clinics_own_certificate_needs_its_ca(tmp_path: Path) -> None:
    ca, cert, key = _certificates(tmp_path)
    with LocalRelay(RelayConfig(store=tmp_path / "store", tls_cert=cert, tls_key=key)) as relay:
        assert relay.url.startswith("tls://")
        assert _host_connects(relay.url, tmp_path / "a", "--relay-ca", str(ca)) == (0, "")
        code, err = _host_connects(relay.url, tmp_path / "b")
        assert code == 4 and "certificate" in err and "--relay-ca" in err and "Traceback" not in err
