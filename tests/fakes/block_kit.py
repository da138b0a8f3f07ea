"""Block Kit checked the way Slack checks it, for the blocks and views OpsDrill sends.

Slack refuses a message whose blocks break a rule with ``{"ok": false, "error":
"invalid_blocks"}`` (views: ``invalid_arguments``) and lists each problem with a JSON pointer
to it; `problems` returns the same list, empty when Slack would take the blocks. The limits
are Slack's published ones (Block Kit reference: blocks, composition objects, elements)."""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_MAX = 3000
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
IMAGE_URL = 3000
ALT_TEXT = 2000
VIEW_TITLE = 24
PRIVATE_METADATA = 3000
BLOCK_TYPES = frozenset(
    {"section", "context", "actions", "header", "divider", "image", "rich_text", "input"}
)
_VIEW_ONLY = frozenset({"input"})


def problems(blocks: Any, *, surface: str = "message") -> list[str]:
    """What Slack would say is wrong with `blocks` sent in a message, or in a `modal` or
    `home` view."""
    out: list[str] = []
    if not isinstance(blocks, list):
        return [_at("must be an array", "/blocks")]
    limit = MESSAGE_BLOCKS if surface == "message" else VIEW_BLOCKS
    if len(blocks) > limit:
        out.append(_at(f"no more than {limit} items allowed", "/blocks"))
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict):
            out.append(_at("must be an object", where))
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES or (kind in _VIEW_ONLY and surface == "message"):
            out.append(_at(f"unsupported type {kind!r}", f"{where}/type"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            _length(out, block_id, BLOCK_ID, f"{where}/block_id")
            if block_id in block_ids:
                out.append(_at("block_id must be unique", f"{where}/block_id"))
            block_ids.add(block_id)
        _BLOCKS[kind](out, block, where, action_ids)
    return out


def view_problems(view: Any) -> list[str]:
    """What Slack would say is wrong with a modal or home tab view."""
    if not isinstance(view, dict):
        return [_at("must be an object", "/view")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [_at(f"unsupported view type {kind!r}", "/view/type")]
    out = [p.replace("[json-pointer:", "[json-pointer:/view", 1) for p in
           problems(view.get("blocks"), surface=kind)]  # fmt: skip
    if kind == "modal":
        _text(out, view.get("title"), "/view/title", plain=True, limit=VIEW_TITLE)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _text(out, view[key], f"/view/{key}", plain=True, limit=VIEW_TITLE)
    _length(out, view.get("private_metadata") or "", PRIVATE_METADATA, "/view/private_metadata")
    return out


# --- blocks -------------------------------------------------------------------------------------


def _section(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        out.append(_at("must provide either text or fields", where))
    if text is not None:
        _text(out, text, f"{where}/text", limit=SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > SECTION_FIELDS:
            out.append(_at(f"no more than {SECTION_FIELDS} items allowed", f"{where}/fields"))
        else:
            for j, field in enumerate(fields):
                _text(out, field, f"{where}/fields/{j}", limit=FIELD_TEXT)
    if block.get("accessory") is not None:
        _element(out, block["accessory"], f"{where}/accessory", ids)


def _header(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    _text(out, block.get("text"), f"{where}/text", plain=True, limit=HEADER_TEXT)


def _context(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    for path, element in _elements(out, block, where, CONTEXT_ELEMENTS):
        if isinstance(element, dict) and element.get("type") == "image":
            _image(out, element, path, ids)
        else:
            _text(out, element, path)


def _actions(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    for path, element in _elements(out, block, where, ACTIONS_ELEMENTS):
        _element(out, element, path, ids)


def _elements(
    out: list[str], block: dict[str, Any], where: str, most: int
) -> list[tuple[str, Any]]:
    """A block's 1 to `most` elements with where each is; none when they are not."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= most:
        out.append(_at(f"must have 1 to {most} items", f"{where}/elements"))
        return []
    return [(f"{where}/elements/{j}", element) for j, element in enumerate(elements)]


def _divider(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    return None


def _image(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    url = block.get("image_url")
    if not isinstance(url, str) or not url:
        out.append(_at("must provide image_url", f"{where}/image_url"))
    else:
        _length(out, url, IMAGE_URL, f"{where}/image_url")
    alt = block.get("alt_text")
    if not isinstance(alt, str) or not alt:
        out.append(_at("must provide alt_text", f"{where}/alt_text"))
    else:
        _length(out, alt, ALT_TEXT, f"{where}/alt_text")


def _rich_text(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    if not isinstance(block.get("elements"), list):
        out.append(_at("must provide elements", f"{where}/elements"))


def _input(out: list[str], block: dict[str, Any], where: str, ids: set[str]) -> None:
    _text(out, block.get("label"), f"{where}/label", plain=True, limit=FIELD_TEXT)
    element = block.get("element")
    if not isinstance(element, dict):
        out.append(_at("must provide element", f"{where}/element"))
        return
    _action_id(out, element, f"{where}/element", ids)


_BLOCKS = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "divider": _divider,
    "image": _image,
    "rich_text": _rich_text,
    "input": _input,
}


# --- elements and text objects ------------------------------------------------------------------


def _element(out: list[str], element: Any, where: str, ids: set[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        out.append(_at("must be an element object", where))
        return
    if element["type"] == "image":
        _image(out, element, where, ids)
        return
    _action_id(out, element, where, ids)
    if element["type"] == "button":
        _text(out, element.get("text"), f"{where}/text", plain=True, limit=BUTTON_TEXT)
        if element.get("value") is not None:
            _length(out, element["value"], BUTTON_VALUE, f"{where}/value")


def _action_id(out: list[str], element: dict[str, Any], where: str, ids: set[str]) -> None:
    action_id = element.get("action_id")
    if action_id is None:
        return  # Slack makes one up
    if not isinstance(action_id, str) or not action_id:
        out.append(_at("must be a non-empty string", f"{where}/action_id"))
        return
    _length(out, action_id, ACTION_ID, f"{where}/action_id")
    if action_id in ids:
        out.append(_at("action_id must be unique within the message", f"{where}/action_id"))
    ids.add(action_id)


def _text(
    out: list[str], text: Any, where: str, *, plain: bool = False, limit: int = TEXT_MAX
) -> None:
    """A text object: plain_text or mrkdwn (plain_text only where `plain`), 1 to `limit`
    characters."""
    if not isinstance(text, dict):
        out.append(_at("must be a text object", where))
        return
    kind = text.get("type")
    if kind not in (("plain_text",) if plain else ("plain_text", "mrkdwn")):
        out.append(_at(f"type {kind!r} is not allowed here", f"{where}/type"))
    value = text.get("text")
    if not isinstance(value, str) or not value:
        out.append(_at("must be more than 0 characters", f"{where}/text"))
        return
    _length(out, value, limit, f"{where}/text")


def _length(out: list[str], value: Any, limit: int, where: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        out.append(_at(f"must be less than {limit + 1} characters", where))


def _at(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"
