"""USSD codes and answers, without I/O: the three shapes modems answer in, statuses, bad input."""

from __future__ import annotations

import pytest

from gatewayd.modem import gsm7
from gatewayd.modem.replies import ReplyError
from gatewayd.modem.ussd import check_code, decode_text, parse_cusd, request_command


@pytest.mark.parametrize(("code", "clean"), [("*100#", "*100#"), (" #123# ", "#123#"), ("*144*1#", "*144*1#"),
                                             ("*#06#", "*#06#"), ("* 1 0 0 #", "*100#")])
def test_service_codes_are_accepted(code: str, clean: str) -> None:
    assert check_code(code) == clean
    assert request_command(code) == f'AT+CUSD=1,"{clean}",15'


@pytest.mark.parametrize("code", ["", "100", "*100#\r\nAT+CMGD=1,4", '*100#",15', "*1a0#", "#" + "1" * 40, "*"])
def test_anything_else_is_refused_before_reaching_the_modem(code: str) -> None:
    # A code goes inside an AT command: quotes, letters and line ends would be command injection.
    with pytest.raises(ValueError, match="is not a USSD code"):
        check_code(code)


def test_plain_text_answer() -> None:
    answer = parse_cusd('+CUSD: 0,"Votre solde est de 12,34 EUR.",15')
    assert (answer.status, answer.text, answer.dcs) == ("done", "Votre solde est de 12,34 EUR.", 15)


def test_packed_gsm7_hex_answer_of_huawei_firmwares() -> None:
    text = "Solde: 12,34 EUR. Valable jusqu'au 31/12."
    wire = gsm7.pack(gsm7.encode(text)).hex().upper()
    assert parse_cusd(f'+CUSD: 0,"{wire}",15').text == text
    assert decode_text("AA180C3602", 15) == "*100#"  # the classic *100# request, packed


def test_packed_text_filling_whole_octets_loses_its_padding() -> None:
    # 7 characters leave 7 spare bits in the 7th octet: CR (spec) or zero bits (some firmwares).
    zero_padded = gsm7.pack(gsm7.encode("Solde 5")).hex().upper()
    cr_padded = gsm7.pack(gsm7.encode("Solde 5") + b"\r").hex().upper()
    assert decode_text(zero_padded, 15) == decode_text(cr_padded, 15) == "Solde 5"


def test_ucs2_hex_answer() -> None:
    wire = "Crédit : 5,00 € – jusqu'au 31/12".encode("utf-16-be").hex().upper()
    assert parse_cusd(f'+CUSD: 0,"{wire}",72').text == "Crédit : 5,00 € – jusqu'au 31/12"


@pytest.mark.parametrize("text", ["1234", "0A", "12345678", "OK", "Solde 0A"])
def test_short_or_digit_answers_stay_text(text: str) -> None:
    assert decode_text(text, 15) == text


@pytest.mark.parametrize(("line", "status"), [("+CUSD: 1,\"1. Solde 2. Forfait\",15", "more_input"),
                                              ("+CUSD: 2", "ended_by_network"), ("+CUSD: 4", "not_supported"),
                                              ("+CUSD: 5", "network_timeout")])
def test_statuses(line: str, status: str) -> None:
    assert parse_cusd(line).status == status


@pytest.mark.parametrize("line", ["+CUSD: ", "+CUSD: 9,\"x\",15", "+CUSD: a", "+CMGS: 12", "+CUSD: 0,\"x\",zz"])
def test_garbage_is_a_reply_error(line: str) -> None:
    with pytest.raises(ReplyError):
        parse_cusd(line)
