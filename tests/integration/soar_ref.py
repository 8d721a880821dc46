"""An independent model of what the Python SOAR IMAP connector
(process_email.py) puts in its Email Artifacts and how it names artifacts,
written from the behaviour described in shared/notes/soar-imap-reference.md
and run on Python's own email package.  The soar_imap tests compare the C
output with it, so "identical to the Python connector" is checked, not
assumed."""
import email
import hashlib
import json
import re
from email.header import decode_header, make_header


class CIDict:
    """requests' CaseInsensitiveDict: the first spelling's position, the
    last spelling and value."""

    def __init__(self):
        self._s = {}

    def __setitem__(self, k, v):
        self._s[k.lower()] = (k, v)

    def get(self, k, d=None):
        x = self._s.get(k.lower())
        return x[1] if x else d

    def as_dict(self):
        return {k: v for k, v in self._s.values()}


def decode_uni(s):
    """_decode_uni_string: only the decoded words when all of them decode."""
    words = re.findall(r"=\?.*?\?=", s, re.I)
    if not words:
        return s
    try:
        dec = [decode_header(x)[0] for x in words]
    except Exception:
        return s
    new, count = "", 0
    for v, enc in dec:
        if not enc or not v:
            continue
        if enc != "utf-8":
            try:
                v = str(v, enc)
            except Exception:
                pass
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if v:
            new += v
            count += 1
    return new if new and count == len(words) else s


def headers_of(part):
    items = list(part.items())
    if not items:
        return None
    h = CIDict()
    for k, v in items:
        h[k] = v
    rec = [v for k, v in items if k.lower() == "received"]
    if rec:
        h["Received"] = rec
    subj = h.get("Subject")
    if subj:
        try:
            h["decodedSubject"] = str(make_header(decode_header(subj)))
        except Exception:
            h["decodedSubject"] = decode_uni(subj)
    for k, key in (("To", "decodedTo"), ("From", "decodedFrom"), ("CC", "decodedCC")):
        v = h.get(k)
        if v:
            h[key] = decode_uni(v)
    return h


def email_artifact(part, email_id=None):
    h = headers_of(part)
    if h is None:
        return None
    cef, types = {}, {}
    if h.get("From"):
        cef["fromEmail"] = h.get("From")
    if h.get("To"):
        cef["toEmail"] = h.get("To")
    if not cef and h.get("message-id") is None:
        return None
    types.update({"fromEmail": ["email"], "toEmail": ["email"]})
    cef["emailHeaders"] = h.as_dict()
    if email_id is not None:
        cef["emailId"] = email_id
        if str(email_id).isdigit():
            types["emailId"] = ["imap email id"]
    return {"run_automation": False, "name": "Email Artifact", "cef": cef, "cef_types": types}


def walk_email_artifacts(raw_bytes, email_id):
    """The Email Artifacts of the MIME walk, in order."""
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        text = raw_bytes.decode("latin-1")
    msg = email.message_from_string(text)
    out = []
    for i, part in enumerate(msg.walk()):
        a = email_artifact(part, email_id if i == 0 else None)
        if a:
            out.append(a)
    return out


def container_name(raw_bytes, email_id):
    msg = email.message_from_string(raw_bytes.decode("utf-8", "replace"))
    subj = msg.get("Subject", "")
    if not subj:
        return "Email ID: %s" % email_id
    return str(make_header(decode_header(subj)))


def sdi(artifact):
    a = {k: v for k, v in artifact.items() if k != "source_data_identifier"}
    return hashlib.md5(json.dumps(a, sort_keys=True).encode("utf-8")).hexdigest()


def folder_sdi(folder, uid):
    return "%s : %s" % (hashlib.md5(folder.encode("utf-8")).hexdigest(), uid)
