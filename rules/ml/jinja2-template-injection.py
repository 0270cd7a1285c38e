import jinja2
from jinja2 import Environment, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment


def format_prompt(template: str, **kwargs):
    # ruleid: secgate.ml.jinja2-template-injection
    return Template(template).render(**kwargs)


def chat_template(tpl, messages):
    # ruleid: secgate.ml.jinja2-template-injection
    compiled = jinja2.Environment(loader=jinja2.BaseLoader()).from_string(tpl)
    env = Environment()
    # ruleid: secgate.ml.jinja2-template-injection
    other = env.from_string(tpl)
    return compiled.render(messages=messages), other


def safe(tpl, name):
    # ok: secgate.ml.jinja2-template-injection
    a = SandboxedEnvironment().from_string(tpl).render(name=name)
    # ok: secgate.ml.jinja2-template-injection
    b = ImmutableSandboxedEnvironment().from_string(tpl).render(name=name)
    # ok: secgate.ml.jinja2-template-injection
    c = Template("Hello {{ name }}").render(name=name)
    env = Environment(autoescape=True)
    # ok: secgate.ml.jinja2-template-injection
    d = env.from_string("Hi {{ name }}").render(name=name)
    return a, b, c, d
