import streamlit as st

st.title("Model")
st.info("This page is being built.")
