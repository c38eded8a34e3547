<%@ WebHandler Language="C#" Class="Download" %>
using System.IO; using System.Web;
public class Download : IHttpHandler {
  public void ProcessRequest(HttpContext c) {
    var name = Path.GetFileName(c.Request.QueryString["f"]);
    c.Response.TransmitFile(Path.Combine(c.Server.MapPath("~/App_Data/reports"), name));
  }
  public bool IsReusable { get { return true; } }
}
