from tests.helpers import write
from tests.ingest.formats import read_one

_PAGE = """<html><head><title>Council meets</title><script>var tracking = 1;</script></head>
    <body><nav><ul><li>Home</li><li>Sports menu</li></ul></nav>
    <article><h1>Council meets</h1>
    <p>The council met on Tuesday in Brussels to discuss air defence for the coming winter.</p>
    <p>Ministers agreed to send more equipment before January, officials said after the talks.</p>
    </article><footer>Copyright footer text</footer></body></html>"""


def test_html_main_text_without_menus_and_scripts(seeds):
    write(seeds / "page.html", _PAGE)
    (doc,) = read_one(seeds, "page.html")
    assert doc.title == "Council meets"
    assert "air defence" in doc.text and "before January" in doc.text
    assert "tracking" not in doc.text and "Sports menu" not in doc.text
    assert doc.source == "page.html"


def test_a_page_stored_from_a_link_has_the_link_as_its_source(seeds):
    write(seeds / "links" / "page.htm", "<!-- qabot-source: https://example.org/a -->\n" + _PAGE)
    (doc,) = read_one(seeds, "links/page.htm")
    assert (doc.doc_id, doc.source) == ("links/page.htm", "https://example.org/a")
