"""docs/RECIPES.md is generated from the schemas, and every recipe key is documented there."""

from rnnzoo.zoo import recipe_docs


def test_recipes_md_is_the_schemas_rendered():
    assert recipe_docs.DOCS.read_text() == recipe_docs.render(), (
        "docs/RECIPES.md is stale: run python -m rnnzoo.zoo.recipe_docs")


def test_every_recipe_key_says_what_it_means():
    undocumented = [line.split("|")[1].strip() for line in recipe_docs.render().splitlines()
                    if line.startswith("| `") and line.rstrip().endswith("|  |")]
    assert undocumented == []


def test_a_table_shows_type_default_and_allowed_values():
    from rnnzoo.training.config import Field

    rows = recipe_docs.table({"cell": Field(str, default="lstm", choices=("lstm", "gru"),
                                            doc="the recurrent cell"),
                              "rate": Field(float, default=None, nullable=True, low=0.0,
                                            high=1.0, high_open=True, doc="a | rate")})
    assert rows[2:] == ["| `cell` | str | `'lstm'` | `lstm`, `gru` | the recurrent cell |",
                        "| `rate` | float or null | null | ≥ 0 and < 1 | a \\| rate |"]
