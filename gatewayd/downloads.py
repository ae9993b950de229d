"""Streamed file downloads (an attachment response written chunk by chunk), for the API and the console.

Exports can be hundreds of thousands of rows: they are written as they are read, so memory stays
flat and the first bytes leave at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web


async def send_download(request: web.Request, chunks: AsyncIterator[bytes], content_type: str,
                        filename: str) -> web.StreamResponse:
    """Answer `request` with the chunks as a file named `filename` (ASCII: no header encoding)."""
    response = web.StreamResponse(headers={"Content-Type": content_type,
                                           "Content-Disposition": f'attachment; filename="{filename}"'})
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
