"""ui/shell.py leans on two Streamlit internals to keep the user's `pages/` folder under st.navigation; this test
fails loudly, with what to do, when a Streamlit upgrade changes either (a browser test, test_browser_history.py,
checks the behaviour itself: a direct visit to /history on a fresh server shows the app's navigation).

Looked for a supported way first (Streamlit 1.67): the legacy mode is chosen from the mere existence of a `pages/`
folder beside the main script (PagesManager.__init__), and no option turns it off.
"""
import inspect

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import local_script_runner

from ui import shell

UPGRADE_HINT = ("Streamlit changed an internal that ui/shell.py relies on: re-check whether a supported way to keep "
                "pages/ with st.navigation now exists, else adapt ui/shell.py")


def test_legacy_pages_flag_still_exists_and_is_decided_from_the_pages_folder():
    assert hasattr(PagesManager, "uses_pages_directory"), UPGRADE_HINT
    assert '"pages"' in inspect.getsource(PagesManager.__init__), UPGRADE_HINT


def test_apptest_session_id_is_still_the_one_shell_recognises():
    assert f'session_id="{shell._APP_TEST_SESSION_ID}"' in inspect.getsource(local_script_runner), UPGRADE_HINT
