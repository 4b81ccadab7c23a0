"""The exported SDL matches the code, and every operation document is valid and used."""

from graphql import parse, validate
from graphql.language import FieldNode, OperationDefinitionNode

from backend.schema import SDL_PATH, export_sdl, schema
from tests.operations import all_operations


def test_exported_sdl_matches_the_code():
    # then: run `cbamx export-schema` when this fails
    assert SDL_PATH.read_text() == export_sdl(), "graphql/schema.graphql is out of date"


def test_every_operation_document_validates_against_the_schema():
    # given
    graphql_schema = schema()._schema
    # when
    problems = {
        name: [e.message for e in validate(graphql_schema, parse(doc))] for name, doc in all_operations().items()
    }
    # then
    assert {name: errors for name, errors in problems.items() if errors} == {}


def test_every_root_field_is_used_by_an_operation_document():
    # given
    graphql_schema = schema()._schema
    roots = {f"query.{n}" for n in graphql_schema.query_type.fields} | {
        f"mutation.{n}" for n in graphql_schema.mutation_type.fields
    }
    # when
    used = set()
    for doc in all_operations().values():
        for definition in parse(doc).definitions:
            if isinstance(definition, OperationDefinitionNode):
                for selection in definition.selection_set.selections:
                    if isinstance(selection, FieldNode):
                        used.add(f"{definition.operation.value}.{selection.name.value}")
    # then
    assert roots - used == set(), "add an operation document under graphql/operations for these fields"


def test_operation_names_match_file_names():
    for name, doc in all_operations().items():
        operations = [d for d in parse(doc).definitions if isinstance(d, OperationDefinitionNode)]
        assert [o.name.value for o in operations] == [name]
