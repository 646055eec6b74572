"""A workflow that uses the Read/Write Files from Disk node where n8n allows it: `~/.n8n-files`.

Webhook -> Code (makes a text file as binary data) -> Write File -> Read File -> the webhook answers with the file
read back. n8n 2.x restricts that node to ``N8N_RESTRICT_FILE_ACCESS_TO`` (default ``~/.n8n-files``, ``~`` being
the process's HOME); the pods mount a bounded writable volume there under their read-only root.
"""

from __future__ import annotations

import uuid
from itertools import pairwise
from pathlib import Path

from .cluster import FILES_FOLDER

FILES_WORKFLOW_ID = "e2eFilesWorkflow"
FILES_WEBHOOK_PATH = "e2e-files"


def file_text(n: int) -> str:
    """What the workflow writes, and so what the webhook answers, for the call with body ``{"n": n}``."""
    return f"written and read back by n8n for call {n}\n"


def files_workflow(home: Path, folder: str = FILES_FOLDER) -> dict:
    """The workflow; files go to ``<home>/<folder>/e2e-<n>.txt`` (n8n resolves no `~` in a file name)."""
    path = f"{home}/{folder}/e2e-{{{{ $json.n }}}}.txt"
    code = (
        "const n = $input.first().json.body.n;\n"
        "const text = `written and read back by n8n for call ${n}\\n`;\n"
        "return [{ json: { n }, binary: { data: { data: Buffer.from(text).toString('base64'),\n"
        "  mimeType: 'text/plain', fileName: `e2e-${n}.txt` } } }];\n"
    )

    def node(name: str, type_: str, version: float, x: int, parameters: dict, **extra) -> dict:
        return {"id": str(uuid.uuid4()), "name": name, "type": type_, "typeVersion": version, "position": [x, 0],
                "parameters": parameters, **extra}

    nodes = [
        node("Webhook", "n8n-nodes-base.webhook", 2, 0,
             {"httpMethod": "POST", "path": FILES_WEBHOOK_PATH, "responseMode": "lastNode",
              "responseData": "firstEntryBinary", "options": {}}, webhookId=str(uuid.uuid4())),
        node("Make file", "n8n-nodes-base.code", 2, 200, {"jsCode": code}),
        node("Write file", "n8n-nodes-base.readWriteFile", 1.1, 400,
             {"operation": "write", "fileName": f"={path}", "dataPropertyName": "data", "options": {}}),
        node("Read file", "n8n-nodes-base.readWriteFile", 1.1, 600,
             {"operation": "read", "fileSelector": f"={path}", "options": {}}),
    ]
    chain = [n["name"] for n in nodes]
    return {
        "id": FILES_WORKFLOW_ID,
        "name": "e2e read/write files",
        "active": False,
        "nodes": nodes,
        "connections": {a: {"main": [[{"node": b, "type": "main", "index": 0}]]} for a, b in pairwise(chain)},
        "settings": {"executionOrder": "v1"},
        "pinData": {},
    }
