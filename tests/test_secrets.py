"""No password leaves smppkit: reprs, error messages, traces, explanations, findings."""

from __future__ import annotations

import pytest

from smppkit import BindTransceiver, InvalidArgument, Outbind, Session, decode, encode, explain
from smppkit.kannel.checks import check_config
from smppkit.kannel.config import generate_config, mask_secrets
from smppkit.protocol.constants import SECRET_MASK
from smppkit.simulator.config import Account, SimConfig
from smppkit.trace import dump_event, pdu_event

SECRET = "hunter2"


def test_account_and_simconfig_reprs_hide_the_password() -> None:
    account = Account(system_id="alice", password=SECRET)
    assert "alice" in repr(account) and SECRET not in repr(account)
    config = SimConfig(accounts=(account, Account(system_id="bob", password="s3cr3t")))
    assert SECRET not in repr(config) and "s3cr3t" not in repr(config)
    assert account.password == SECRET  # hidden from the repr, not lost


@pytest.mark.parametrize("text", [f":{SECRET}", SECRET])
def test_a_malformed_account_argument_is_not_echoed(text: str) -> None:
    with pytest.raises(ValueError, match="SYSTEM_ID:PASSWORD") as info:
        Account.parse(text)
    assert SECRET not in str(info.value)


def test_pdu_repr_fields_explain_and_trace_mask_the_password() -> None:
    for pdu in (BindTransceiver(system_id="esme", password=SECRET),
                Outbind(system_id="smsc", password=SECRET)):
        data = encode(pdu)
        assert SECRET not in repr(pdu) and SECRET not in str(pdu.fields())
        assert SECRET not in str(explain(data)) and SECRET not in explain(data)._repr_html_()
        assert SECRET.encode().hex() not in str(explain(data))
        event = pdu_event(decode(data), time=0.0, direction="in", raw=data)
        assert SECRET not in dump_event(event) and SECRET.encode().hex() not in dump_event(event)


def test_session_errors_and_observer_see_no_password_in_messages() -> None:
    seen: list[str] = []
    session = Session(observer=lambda direction, pdu, data: seen.append(repr(pdu)))
    session.send(BindTransceiver(system_id="esme", password=SECRET))
    assert seen and all(SECRET not in line for line in seen)
    with pytest.raises(InvalidArgument) as info:
        BindTransceiver(system_id="esme", password="пароль")
    assert "пароль" not in str(info.value)


def test_mask_secrets_in_urls_and_config_lines() -> None:
    url = f"http://localhost:13013/cgi-bin/sendsms?username=u&password={SECRET}&to=1&dlr-mask=17"
    assert mask_secrets(url) == url.replace(SECRET, SECRET_MASK)
    assert SECRET not in mask_secrets(f"/cgi-bin/sendsms?user=u&pass={SECRET}&to=1")
    assert mask_secrets(f'smsc-password = "{SECRET}"') == f'smsc-password = "{SECRET_MASK}"'
    # the provider file's placeholder is no secret: it shows what to replace
    assert mask_secrets("smsc-password = $nexmo_password") == "smsc-password = $nexmo_password"
    assert mask_secrets("username=passenger&to=1") == "username=passenger&to=1"


def test_check_config_findings_never_quote_a_password() -> None:
    conf = generate_config(password=SECRET) + (
        f"\n# try: http://127.0.0.1:13013/cgi-bin/sendsms?username=tester&password={SECRET}"
        "&to=447700900000&text=hi&dlr-mask=17\n"
    )
    findings = check_config(conf, urls=[f"http://x/cgi-bin/sendsms?user=a&pass={SECRET}&dlr-mask=1"])
    assert len([f for f in findings if "dlr-mask" in f.problem]) == 2  # both URLs were read
    for finding in findings:
        assert SECRET not in str(finding)
    assert any(SECRET_MASK in f.evidence for f in findings)


def test_a_sent_message_repr_masks_the_sendsms_password() -> None:
    from smppkit.kannel.config import sendsms_url
    from smppkit.kannel.runner import SentMessage

    url = sendsms_url("447700900000", "hi", username="u", password=SECRET)
    sent = SentMessage("t", "447700900000", "hi", 19, url, 202, "Sent.")
    assert SECRET in sent.url and SECRET not in repr(sent) and SECRET_MASK in repr(sent)
