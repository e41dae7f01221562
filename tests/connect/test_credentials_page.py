"""The credentials page logic shared by the wizard and the staff console."""

from connect.credentials_page import problems_by_field, response_status
from connect.onboarding import Attempt
from stores.bigcommerce.report import Problem


def test_a_store_hash_problem_goes_beside_the_api_path_and_file_problems_are_general():
    hash_problem = Problem("store_hash", "bad_hash", "That store hash looks wrong.")
    token_problem = Problem("access_token", "too_short", "Too short.")
    file_problem = Problem("file", "not_a_file", "Not the .txt file.")
    whole = Problem("", "owned_elsewhere", "Already connected elsewhere.")
    by_field, general = problems_by_field([hash_problem, token_problem, file_problem, whole])
    assert by_field == {
        "api_path": [hash_problem],
        "client_id": [],
        "client_secret": [],
        "access_token": [token_problem],
    }
    assert file_problem in general and whole in general and token_problem not in general


def test_the_status_says_what_happened_to_the_post():
    assert response_status(posted=False, attempt=None) == 200
    assert response_status(posted=True, attempt=None) == 400  # the form itself was invalid
    assert response_status(posted=True, attempt=Attempt(throttled_for=30)) == 429
    assert response_status(posted=True, attempt=Attempt(problems=[Problem("", "x", "y")])) == 422
