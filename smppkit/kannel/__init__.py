"""Kannel: a config for the provider's setup (`config`) and its checks (`checks`), a live lab
(`runner`), what Kannel did with each receipt (`dlr`), its logs (`logs`) and the command
line (`cli`)."""

from smppkit.kannel.checks import check_config, findings_frame
from smppkit.kannel.cli import register_cli
from smppkit.kannel.config import (
    DLR_URL_FIELDS,
    MSG_ID_TYPE_FOR,
    Finding,
    config_frame,
    explain_dlr_mask,
    generate_config,
    mask_secrets,
    parse_config,
    sendsms_url,
)
from smppkit.kannel.dlr import dlr_lookups, dlr_type_name
from smppkit.kannel.logs import (
    BadLines,
    read_access_log,
    read_bearerbox_log,
    read_kannel_logs,
)
from smppkit.kannel.runner import KannelLab, KannelNotInstalled, SentMessage, find_kannel, run

__all__ = [
    "BadLines",
    "DLR_URL_FIELDS",
    "Finding",
    "KannelLab",
    "KannelNotInstalled",
    "MSG_ID_TYPE_FOR",
    "SentMessage",
    "check_config",
    "config_frame",
    "dlr_lookups",
    "dlr_type_name",
    "explain_dlr_mask",
    "find_kannel",
    "findings_frame",
    "generate_config",
    "mask_secrets",
    "parse_config",
    "read_access_log",
    "read_bearerbox_log",
    "read_kannel_logs",
    "register_cli",
    "run",
    "sendsms_url",
]
