"""File uploads the way slack_sdk's `files_upload_v2` makes them: an upload URL, the bytes posted
there, and completeUploadExternal sharing the file."""

from __future__ import annotations

import json

from aiohttp import web

from tests.fakes.slack.wire import (
    JSON,
    Call,
    _error,
)


class Files:
    """files.getUploadURLExternal, the upload and files.completeUploadExternal."""

    def _files_get_upload_url(self, call: Call) -> JSON:
        """Step 1 of files_upload_v2: a file id and the URL its bytes go to."""
        p = call.params
        if not p.get("filename") or not str(p.get("length") or "").isdigit():
            return _error("invalid_arguments")
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = {"name": p["filename"], "length": int(p["length"]), "content": None,
                               "alt_txt": p.get("alt_txt")}  # fmt: skip
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """Step 2: the bytes, POSTed to the URL step 1 gave."""
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="no such upload")
        content = await request.read()
        if len(content) != file["length"]:
            return web.Response(status=400, text="length does not match")
        file["content"] = content
        return web.Response(status=200, text="OK - " + str(len(content)))

    def _files_complete_upload(self, call: Call) -> JSON:
        """Step 3: share the uploaded files in a channel, with an optional comment."""
        p = call.params
        listed = p.get("files")
        files = json.loads(listed) if isinstance(listed, str) else listed
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        shared = []
        for entry in files:
            file = self.files.get(str(entry.get("id")))
            if file is None or file["content"] is None:
                return _error("file_not_found")
            file.update(title=entry.get("title"), channel=p.get("channel_id"),
                        comment=p.get("initial_comment"))  # fmt: skip
            shared.append({"id": entry["id"], "name": file["name"], "title": entry.get("title")})
        return {"ok": True, "files": shared}
